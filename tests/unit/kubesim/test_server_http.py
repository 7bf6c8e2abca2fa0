"""The API server over HTTP: discovery, imagestreamtags, tables, protobuf bodies, watch edges."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from kubesim import discovery, kinds
from kubesim.auth import ADMIN_TOKEN
from kubesim.cluster import Cluster
from kubesim.server import protobuf

pytestmark = pytest.mark.asyncio(loop_scope="module")
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def http(kubesim_module: Cluster) -> AsyncIterator[aiohttp.ClientSession]:
    context = ssl.create_default_context(cafile=str(kubesim_module.ca_file))
    async with aiohttp.ClientSession(
        base_url=kubesim_module.url,
        headers=ADMIN,
        connector=aiohttp.TCPConnector(ssl=context),
        timeout=aiohttp.ClientTimeout(total=20),
    ) as session:
        yield session


async def _json(http: aiohttp.ClientSession, path: str, **headers: str) -> tuple[int, Any]:
    async with http.get(path, headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def test_version_needs_no_token(kubesim_module: Cluster) -> None:
    context = ssl.create_default_context(cafile=str(kubesim_module.ca_file))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as anonymous:
        async with anonymous.get(f"{kubesim_module.url}/version") as r:
            assert r.status == 200 and (await r.json())["minor"] == "32"
        async with anonymous.get(f"{kubesim_module.url}/api/v1/pods") as r:
            assert r.status == 401


@pytest.mark.parametrize("path", ["/api/", "/apis/", "/api/v1/", "/apis/apps/v1/", "/apis/apps"])
async def test_discovery_tolerates_trailing_slashes(http: aiohttp.ClientSession, path: str) -> None:
    status, body = await _json(http, path)
    assert status == 200
    assert body["kind"] in ("APIVersions", "APIGroupList", "APIResourceList", "APIGroup")


async def test_core_resource_list(http: aiohttp.ClientSession) -> None:
    _, body = await _json(http, "/api/v1")
    by_name = {r["name"]: r for r in body["resources"]}
    assert by_name["pods"]["shortNames"] == ["po"]
    assert by_name["pods/exec"]["verbs"] == ["create", "get"]
    assert by_name["namespaces"]["namespaced"] is False


async def test_aggregated_discovery(http: aiohttp.ClientSession) -> None:
    accept = discovery.AGGREGATED_CONTENT_TYPE + ",application/json"
    async with http.get("/apis", headers={"Accept": accept}) as r:
        assert r.headers["Content-Type"] == discovery.AGGREGATED_CONTENT_TYPE
        body = await r.json(content_type=None)
    groups = {item["metadata"]["name"] for item in body["items"]}
    assert {"rbac.authorization.k8s.io", "image.openshift.io", "forklift.konveyor.io"} <= groups


async def test_unknown_group_is_a_not_found_status(http: aiohttp.ClientSession) -> None:
    status, body = await _json(http, "/apis/nope.example.com/v1")
    assert (status, body["kind"], body["reason"]) == (404, "Status", "NotFound")


async def test_imagestreamtag_resolves_source_and_local_policy(
    kubesim_module: Cluster, http: aiohttp.ClientSession
) -> None:
    path = "/apis/image.openshift.io/v1/namespaces/openshift/imagestreamtags/must-gather:latest"
    status, tag = await _json(http, path)
    assert status == 200 and tag["kind"] == "ImageStreamTag"
    stream = kubesim_module.store.get(kinds.IMAGE_STREAMS, "must-gather", namespace="openshift")
    item = stream["status"]["tags"][0]["items"][0]
    assert tag["image"]["dockerImageReference"] == item["dockerImageReference"]

    local = json.loads(json.dumps(stream))
    local["metadata"] = {"name": "local-gather", "namespace": "openshift"}
    local["spec"]["tags"][0]["referencePolicy"] = {"type": "Local"}
    local["status"].pop("dockerImageRepository", None)
    kubesim_module.store.create(kinds.IMAGE_STREAMS, local)
    _, local_tag = await _json(http, path.replace("must-gather:", "local-gather:"))
    assert local_tag["image"]["dockerImageReference"] == (
        "image-registry.openshift-image-registry.svc:5000/openshift/local-gather@" + item["image"]
    )
    missing, body = await _json(http, path.replace(":latest", ":nope"))
    assert missing == 404 and body["reason"] == "NotFound"


async def test_table_for_kubectl_get(http: aiohttp.ClientSession) -> None:
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    _, table = await _json(http, "/api/v1/nodes", Accept=accept)
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]][:3] == ["Name", "Status", "Roles"]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


async def test_protobuf_self_subject_access_review(http: aiohttp.ClientSession) -> None:
    # The body kubectl 1.32 sends for `kubectl auth can-i list pods` (captured).
    body = bytes.fromhex(
        "6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f7631121753656c665375626a"
        "656374416363657373526576696577123d0a100a0012001a0022002a00320038004200121f0a1d0a07"
        "64656661756c7412046c6973741a0022002a04706f647332003a001a08080012001a0020001a002200"
    )
    decoded = protobuf.decode(body)
    assert decoded["spec"]["resourceAttributes"] == {
        "namespace": "default",
        "verb": "list",
        "resource": "pods",
    }
    async with http.post(
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        data=body,
        headers={"Content-Type": protobuf.MEDIA_TYPE},
    ) as r:
        assert r.status == 201
        assert (await r.json())["status"]["allowed"] is True


async def test_watch_from_an_expired_version_sends_an_error_event(
    kubesim_module: Cluster, http: aiohttp.ClientSession
) -> None:
    store = kubesim_module.store
    store._history.clear()
    store.create(kinds.CONFIG_MAPS, {"metadata": {"name": "expired-probe"}})
    async with http.get("/api/v1/configmaps?watch=1&resourceVersion=1") as r:
        events = [json.loads(line) async for line in r.content if line.strip()]
    assert events[0]["type"] == "ERROR"
    assert events[0]["object"]["code"] == 410


async def test_patch_and_status_subresource(
    kubesim_module: Cluster, http: aiohttp.ClientSession
) -> None:
    # A Deployment: nothing in kubesim writes its status, so the test alone does.
    deployment = {"metadata": {"name": "patched"}, "spec": {"replicas": 1}}
    collection = "/apis/apps/v1/namespaces/default/deployments"
    async with http.post(collection, json=deployment) as r:
        assert r.status == 201
    merge = {"Content-Type": "application/merge-patch+json"}
    path = f"{collection}/patched"
    patch = {"metadata": {"labels": {"a": "1"}}, "status": {"replicas": 7}}
    async with http.patch(path, data=json.dumps(patch), headers=merge) as r:
        body = await r.json()
        assert body["metadata"]["labels"] == {"a": "1"}
        assert "status" not in body  # status changes only through /status
    status_patch = json.dumps({"status": {"replicas": 1}})
    async with http.patch(path + "/status", data=status_patch, headers=merge) as r:
        assert (await r.json())["status"] == {"replicas": 1}
    ops = [{"op": "replace", "path": "/metadata/labels/a", "value": "2"}]
    json_patch = {"Content-Type": "application/json-patch+json"}
    async with http.patch(path, data=json.dumps(ops), headers=json_patch) as r:
        assert (await r.json())["metadata"]["labels"] == {"a": "2"}
    stored = kubesim_module.store.get(kinds.DEPLOYMENTS, "patched", namespace="default")
    assert stored["status"] == {"replicas": 1}
    assert stored["metadata"]["generation"] == 1
