"""Each fault, set from Python, the admin endpoint or a --fault spec, seen over HTTP."""

from __future__ import annotations

import json
import random
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from kubesim import kinds
from kubesim.auth import ADMIN_TOKEN, USER_TOKEN
from kubesim.cluster import Cluster
from kubesim.errors import BadRequest
from kubesim.faults import Faults, parse_fault_spec
from kubesim.pytest_plugin import ClusterFactory

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest_asyncio.fixture
async def cluster(kubesim_factory: ClusterFactory) -> Cluster:
    return await kubesim_factory(kubelet=False, plain_http_port=0, seed=False)


@pytest_asyncio.fixture
async def http(cluster: Cluster) -> AsyncIterator[aiohttp.ClientSession]:
    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(base_url=cluster.plain_url, timeout=timeout) as session:
        yield session


async def _get(http: aiohttp.ClientSession, path: str, **headers: str) -> tuple[int, Any, Any]:
    async with http.get(path, headers={**ADMIN, **headers}) as response:
        return response.status, await response.json(), response.headers


@pytest.mark.asyncio
async def test_api_error_by_count_with_retry_after(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    cluster.faults.apply_spec("api-error=503:count=2:retry-after=3:path=/pods")
    for _ in range(2):
        status, body, headers = await _get(http, "/api/v1/namespaces/default/pods")
        assert (status, body["reason"], headers["Retry-After"]) == (503, "ServiceUnavailable", "3")
        assert body["kind"] == "Status"
    assert (await _get(http, "/api/v1/namespaces/default/pods"))[0] == 200
    assert (await _get(http, "/api/v1/nodes"))[0] == 200


@pytest.mark.asyncio
async def test_api_error_aimed_at_one_user(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    cluster.faults.apply_spec("api-error=500:count=1:user=system:serviceaccount:x:default")
    sa_token = cluster.users.token_for_service_account("x", "default")
    # aimed at a service account: the admin's and the developer's calls pass
    assert (await _get(http, "/api/v1/nodes"))[0] == 200
    developer = {"Authorization": f"Bearer {USER_TOKEN}"}
    assert (await _get(http, "/api/v1/namespaces/x/pods", **developer))[0] != 500
    assert cluster.faults.api_errors[0].count == 1, "a request of someone else used it up"
    cluster.faults.clear()
    cluster.faults.apply_spec("api-error=500:count=2:user=kube:admin")
    assert (await _get(http, "/api/v1/nodes"))[0] == 500
    status = (await _get(http, "/api/v1/nodes", Authorization=f"Bearer {sa_token}"))[0]
    assert status != 500
    assert cluster.faults.api_errors[0].count == 1


@pytest.mark.asyncio
async def test_api_error_rate() -> None:
    faults = Faults(rng=random.Random(7))
    faults.apply_json({"api_errors": [{"status": 429, "rate": 0.5}]})
    hits = sum(faults.pick_api_error("/api/v1/pods") is not None for _ in range(1000))
    assert 400 < hits < 600
    faults.clear()
    faults.apply_json({"api_errors": [{"status": 500, "rate": 0.0}]})
    assert all(faults.pick_api_error("/x") is None for _ in range(100))


@pytest.mark.asyncio
async def test_latency(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    cluster.faults.latency_seconds = 0.3
    started = time.monotonic()
    assert (await _get(http, "/api/v1/namespaces"))[0] == 200
    assert time.monotonic() - started >= 0.3


@pytest.mark.asyncio
async def test_watch_disconnects_after_n_events(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    cluster.faults.watch_disconnect_after = 2
    for i in range(4):
        cluster.store.create(kinds.CONFIG_MAPS, {"metadata": {"name": f"cm{i}"}})
    async with http.get("/api/v1/namespaces/default/configmaps?watch=1", headers=ADMIN) as r:
        lines = [json.loads(line) async for line in r.content if line.strip()]
    assert [e["type"] for e in lines] == ["ADDED", "ADDED"]


@pytest.mark.asyncio
async def test_watch_honours_timeout_and_selectors(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    cluster.store.create(kinds.CONFIG_MAPS, {"metadata": {"name": "a", "labels": {"x": "1"}}})
    cluster.store.create(kinds.CONFIG_MAPS, {"metadata": {"name": "b"}})
    path = "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1&labelSelector=x"
    async with http.get(path, headers=ADMIN) as r:
        lines = [json.loads(line) async for line in r.content if line.strip()]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in lines] == [("ADDED", "a")]


@pytest.mark.asyncio
async def test_node_not_ready(kubesim_factory: ClusterFactory) -> None:
    cluster = await kubesim_factory(kubelet=False)
    node = cluster.store.list(kinds.NODES)[0]["metadata"]["name"]
    cluster.faults.node_not_ready(node)
    stored = cluster.store.get(kinds.NODES, node)
    ready = next(c for c in stored["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False"
    assert any(t["key"] == "node.kubernetes.io/not-ready" for t in stored["spec"]["taints"])


@pytest.mark.asyncio
async def test_revoked_token_is_unauthorized(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    headers = {"Authorization": f"Bearer {USER_TOKEN}"}
    async with http.get("/apis", headers=headers) as r:
        assert r.status == 200
    cluster.faults.revoke_token(USER_TOKEN)
    async with http.get("/apis", headers=headers) as r:
        body = await r.json()
        assert (r.status, body["reason"]) == (401, "Unauthorized")


@pytest.mark.asyncio
async def test_admin_endpoint(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    user = {"Authorization": f"Bearer {USER_TOKEN}"}
    async with http.post("/kubesim/faults", json={"latency_seconds": 1}, headers=user) as r:
        assert r.status == 403
    body = {"api_errors": [{"status": 500, "count": 1}], "watch_disconnect_after": 5}
    async with http.post("/kubesim/faults", json=body, headers=ADMIN) as r:
        assert r.status == 200
    assert cluster.faults.watch_disconnect_after == 5
    assert (await _get(http, "/api/v1/namespaces"))[0] == 500
    status, listed, _ = await _get(http, "/kubesim/faults")
    assert status == 200 and listed["api_errors"][0]["count"] == 0
    async with http.delete("/kubesim/faults", headers=ADMIN) as r:
        assert r.status == 200
    assert cluster.faults.api_errors == [] and cluster.faults.watch_disconnect_after is None
    async with http.post("/kubesim/faults", json={"bogus": 1}, headers=ADMIN) as r:
        assert r.status == 400


@pytest.mark.asyncio
async def test_faults_given_at_start(kubesim_factory: ClusterFactory) -> None:
    cluster = await kubesim_factory(
        kubelet=False, seed=False, faults=["exec-cut=100", "log-disconnect=50", "latency=0.01"]
    )
    assert cluster.faults.exec_cut_after_bytes == 100
    assert cluster.faults.log_disconnect_after_bytes == 50
    assert cluster.faults.latency_seconds == 0.01


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("latency=0.5", {"latency_seconds": "0.5"}),
        (
            "api-error=429:rate=0.25:path=^/apis:retry-after=1",
            {"api_errors": [{"status": 429, "rate": 0.25, "path": "^/apis", "retry_after": 1}]},
        ),
        ("node-not-ready=worker-0", {"node_not_ready": "worker-0"}),
        (
            "api-error=500:count=3:user=system:serviceaccount:ns:sa",
            {"api_errors": [{"status": 500, "count": 3, "user": "system:serviceaccount:ns:sa"}]},
        ),
    ],
)
def test_parse_fault_spec(spec: str, expected: dict[str, Any]) -> None:
    assert parse_fault_spec(spec) == expected


@pytest.mark.parametrize("spec", ["nonsense", "api-error=418", "api-error=500:color=red", "x=1"])
def test_bad_fault_specs(spec: str) -> None:
    with pytest.raises(BadRequest):
        Faults().apply_spec(spec)
