"""The service as a person's browser meets it: kubesim reviews tokens, a fake executor
gathers (printing markup first), uvicorn serves on loopback, Debian's chromium browses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from playwright.async_api import Browser, async_playwright

from kubesim.cluster import Cluster
from support.browser import CHROMIUM, Site, served_site


@pytest_asyncio.fixture
async def site(kubesim: Cluster, tmp_path: Path) -> AsyncIterator[Site]:
    async with served_site(kubesim, tmp_path) as served:
        yield served


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield launched
        finally:
            await launched.close()
