"""ACCEL_REDIRECT_PREFIX behind nginx configured as deploy/components/download-proxy ships
it (its own nginx.conf, only the pod's paths and ports moved into the test's directory):
the service checks the caller and names the archive; nginx sends the file over TLS and
answers Range, If-Range, HEAD and conditional requests. Nothing of the internal location is
reachable or visible from outside."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import pytest_asyncio

from must_gather_api.auth.base import Caller
from must_gather_api.errors import Unauthenticated
from must_gather_api.settings import Permission
from support.certificates import write_self_signed
from support.executors import FakeExecutor
from support.nginx import nginx
from support.service import free_port, make_settings, served_app

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

COMPONENT = Path(__file__).resolve().parents[2] / "deploy" / "components" / "download-proxy"
PREFIX = "/_data/"
TOKEN = "offload-token"
AUTHORIZED = {"Authorization": f"Bearer {TOKEN}"}


def shipped_config(*, app_url: str, port: int, data_dir: Path, tls: Path, work: Path) -> str:
    """The component's nginx.conf with the pod's paths and ports replaced by the test's."""
    config = (COMPONENT / "nginx.conf").read_text()
    moves = {
        "http://127.0.0.1:8081;": f"{app_url};",
        "listen 8443 ssl;": f"listen 127.0.0.1:{port} ssl;",
        "/var/run/secrets/must-gather-api/serving-cert/": f"{tls}/",
        "alias /var/lib/must-gather-api/data/;": f"alias {data_dir}/;",
        "/tmp/nginx/": f"{work}/",
    }
    for pod_value, test_value in moves.items():
        assert pod_value in config, f"the component's nginx.conf no longer has {pod_value!r}"
        config = config.replace(pod_value, test_value)
    return config


class OneToken:
    """Lets in the one token the test holds, as the cluster's review would."""

    async def authenticate(self, authorization: str | None) -> Caller:
        if authorization != f"Bearer {TOKEN}":
            raise Unauthenticated("a valid bearer token is required")
        return Caller(user="tester", token=TOKEN)

    async def may(self, caller: Caller, permission: Permission) -> bool:
        return True

    async def close(self) -> None:
        return None


@dataclass
class Offloaded:
    app_url: str
    proxy_url: str
    gathering_id: int
    archive: bytes
    trust: ssl.SSLContext

    def proxy(self, **headers: str) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(base_url=self.proxy_url, headers=headers, verify=self.trust)


@pytest_asyncio.fixture
async def offloaded(tmp_path: Path) -> AsyncIterator[Offloaded]:
    data_dir = tmp_path / "data"
    settings = make_settings(
        tmp_path, data_dir=str(data_dir), accel_redirect_prefix=PREFIX, auth="kubernetes"
    )
    tls = tmp_path / "serving-cert"
    tls.mkdir()
    write_self_signed(tls / "tls.crt", tls / "tls.key")
    trust = ssl.create_default_context(cafile=str(tls / "tls.crt"))
    async with served_app(settings, executor=FakeExecutor(), authenticator=OneToken()) as url:
        async with httpx2.AsyncClient(base_url=url, headers=AUTHORIZED, timeout=10) as app:
            created = await app.post("/must-gather", json={"image": "fake/ok"})
            assert created.status_code == 201, created.text
            gathering_id: int = created.json()["id"]
            body = await _finished(app, gathering_id)
            assert body["status"] == "completed", body
        archive = (data_dir / "gatherings" / str(gathering_id) / "archive").read_bytes()
        port = free_port()
        work = tmp_path / "nginx"
        work.mkdir()
        config = shipped_config(app_url=url, port=port, data_dir=data_dir, tls=tls, work=work)
        proxy_url = f"https://127.0.0.1:{port}"
        async with nginx(work, config, ready_url=proxy_url, verify=trust):
            yield Offloaded(url, proxy_url, gathering_id, archive, trust)


async def _finished(app: httpx2.AsyncClient, gathering_id: int) -> dict[str, Any]:
    for _ in range(1000):
        body: dict[str, Any] = (await app.get(f"/must-gather/{gathering_id}")).json()
        if body["status"] in ("completed", "error"):
            return body
        await asyncio.sleep(0.01)
    raise AssertionError(f"gathering {gathering_id} did not finish: {body}")


async def test_the_proxy_sends_the_archive_the_service_chose(offloaded: Offloaded) -> None:
    data = f"/must-gather/{offloaded.gathering_id}/data"
    async with httpx2.AsyncClient(base_url=offloaded.app_url, headers=AUTHORIZED) as app:
        direct = await app.get(data)
    assert direct.status_code == 200
    assert direct.content == b""
    assert (
        direct.headers["x-accel-redirect"] == f"{PREFIX}gatherings/{offloaded.gathering_id}/archive"
    )

    async with offloaded.proxy(**AUTHORIZED) as proxy:
        whole = await proxy.get(data)
        assert whole.status_code == 200
        assert hashlib.sha256(whole.content).digest() == hashlib.sha256(offloaded.archive).digest()
        assert "x-accel-redirect" not in whole.headers
        assert whole.headers["content-type"] == "application/gzip"
        assert whole.headers["content-disposition"] == direct.headers["content-disposition"]
        assert whole.headers["accept-ranges"] == "bytes"
        assert whole.headers["cache-control"] == "private, no-store"

        head = await proxy.head(data)
        assert head.status_code == 200
        assert head.content == b""
        assert int(head.headers["content-length"]) == len(offloaded.archive)


async def test_range_if_range_and_conditional_requests(offloaded: Offloaded) -> None:
    data = f"/must-gather/{offloaded.gathering_id}/data"
    size = len(offloaded.archive)
    offset = size // 3
    async with offloaded.proxy(**AUTHORIZED) as proxy:
        etag = (await proxy.head(data)).headers["etag"]
        part = await proxy.get(data, headers={"Range": f"bytes={offset}-"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes {offset}-{size - 1}/{size}"
        assert part.content == offloaded.archive[offset:]

        resumed = await proxy.get(data, headers={"Range": "bytes=0-99", "If-Range": etag})
        assert resumed.status_code == 206
        assert resumed.content == offloaded.archive[:100]
        changed = await proxy.get(data, headers={"Range": "bytes=0-99", "If-Range": '"other"'})
        assert changed.status_code == 200
        assert len(changed.content) == size

        unchanged = await proxy.get(data, headers={"If-None-Match": etag})
        assert unchanged.status_code == 304
        assert unchanged.content == b""


async def test_nothing_is_sent_without_the_services_consent(offloaded: Offloaded) -> None:
    data = f"/must-gather/{offloaded.gathering_id}/data"
    internal = f"{PREFIX}gatherings/{offloaded.gathering_id}/archive"
    async with offloaded.proxy() as proxy:
        refused = await proxy.get(data)
        assert refused.status_code == 401
        assert offloaded.archive[:64] not in refused.content
        assert "x-accel-redirect" not in refused.headers

        for headers in ({}, AUTHORIZED):
            hidden = await proxy.get(internal, headers=headers)
            assert hidden.status_code == 404
            assert offloaded.archive[:64] not in hidden.content
        missing = await proxy.get("/must-gather/999/data", headers=AUTHORIZED)
        assert missing.status_code == 404
        assert "x-accel-redirect" not in missing.headers
