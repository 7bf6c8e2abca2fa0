"""``nodes/{name}/proxy/logs/`` over HTTP: raw paths no client cleaned, and the kubelet's errors."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from yarl import URL

from kubesim.auth import ADMIN_TOKEN
from kubesim.cluster import Cluster

pytestmark = pytest.mark.asyncio(loop_scope="module")
BASE = "/api/v1/nodes/master-0/proxy/logs/"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def http(kubesim_module: Cluster) -> AsyncIterator[aiohttp.ClientSession]:
    context = ssl.create_default_context(cafile=str(kubesim_module.ca_file))
    async with aiohttp.ClientSession(
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        connector=aiohttp.TCPConnector(ssl=context),
        timeout=aiohttp.ClientTimeout(total=20),
    ) as session:
        yield session


async def _get(
    http: aiohttp.ClientSession, cluster: Cluster, rest: str
) -> tuple[int, str | None, str]:
    # encoded=True sends the path byte for byte: no dot-segment removal on the client side.
    url = URL(cluster.url + BASE + rest, encoded=True)
    async with http.get(url, allow_redirects=False) as response:
        return response.status, response.headers.get("Location"), await response.text()


@pytest.mark.parametrize(
    "rest",
    [
        "../../tls/ca.crt",
        "%2E%2E/%2E%2E/tls/ca.crt",
        "kube-apiserver/..%2F..%2F..%2Ftls/ca.crt",
        "%2Fetc%2Fpasswd",
        "/etc/passwd",
    ],
)
async def test_paths_out_of_var_log_are_refused(
    http: aiohttp.ClientSession, kubesim_module: Cluster, rest: str
) -> None:
    assert await _get(http, kubesim_module, rest) == (400, None, "invalid URL path\n")


@pytest.mark.parametrize(
    ("rest", "status", "text"),
    [
        ("kube-apiserver/?query=crio", 406, "path not allowed in query mode\n"),
        ("?query=crio&tailLines=x", 400, 'tailLines: Invalid value: "x": must be an integer\n'),
        ("?query=crio&boot=1", 400, "boot: Invalid value: 1: must be in [-100, 0]\n"),
        ("?query=bad%20name", 400, 'query: Invalid value: "bad name": not a service name\n'),
        ("journal?unit=crio&since=soon", 400, 'Failed to parse timestamp: "soon" (since)\n'),
        ("missing.log", 404, "404 page not found\n"),
    ],
)
async def test_kubelet_errors_are_plain_text(
    http: aiohttp.ClientSession, kubesim_module: Cluster, rest: str, status: int, text: str
) -> None:
    assert await _get(http, kubesim_module, rest) == (status, None, text)


async def test_a_directory_without_its_slash_redirects(
    http: aiohttp.ClientSession, kubesim_module: Cluster
) -> None:
    assert await _get(http, kubesim_module, "kube-apiserver") == (301, "kube-apiserver/", "")


async def test_an_unknown_node_is_the_api_servers_not_found(
    http: aiohttp.ClientSession, kubesim_module: Cluster
) -> None:
    url = URL(kubesim_module.url + "/api/v1/nodes/nope/proxy/logs/")
    async with http.get(url) as response:
        assert response.status == 404
        body = await response.json()
    assert body["reason"] == "NotFound" and body["message"] == 'nodes "nope" not found'
