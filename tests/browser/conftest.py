"""The service as a person's browser meets it: kubesim reviews tokens, a fake executor
gathers (printing markup first), uvicorn serves on loopback, Debian's chromium browses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from playwright.async_api import Browser, async_playwright

from kubesim.cluster import Cluster
from must_gather_api.auth.kubernetes import KubernetesAuthenticator
from must_gather_api.cli.demo import provision_service_account
from support.browser import CHROMIUM, HostileExecutor, Site
from support.service import make_settings, served_app


@pytest_asyncio.fixture
async def site(kubesim: Cluster, tmp_path: Path) -> AsyncIterator[Site]:
    kubeconfig = provision_service_account(kubesim, tmp_path)
    settings = make_settings(
        tmp_path, auth="kubernetes", use_kubeconfig="true", kubeconfig=str(kubeconfig)
    )
    authenticator = await KubernetesAuthenticator.create(settings)
    executor = HostileExecutor()
    async with served_app(settings, executor=executor, authenticator=authenticator) as url:
        yield Site(url=url, executor=executor)


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield launched
        finally:
            await launched.close()
