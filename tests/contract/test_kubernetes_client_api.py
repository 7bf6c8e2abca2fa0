"""The official ``kubernetes`` Python client against kubesim's API server.

Each test pins a behaviour of a real kube-apiserver that kubesim once got wrong.
"""

from __future__ import annotations

import json

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from contract.official import call, config_map, raw
from kubesim import kinds
from kubesim.cluster import Cluster

pytestmark = pytest.mark.timeout(60)


# -- delete answers ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_delete_answers_status_except_for_kinds_that_return_the_object(
    official: client.ApiClient,
) -> None:
    core = client.CoreV1Api(official)
    rbac = client.RbacAuthorizationV1Api(official)
    created = await call(core.create_namespaced_config_map, "default", config_map("gone"))
    code, _, body = await raw(core.delete_namespaced_config_map, "gone", "default")
    assert code == 200
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": "gone", "group": "", "kind": "configmaps", "uid": created.metadata.uid},
    }
    role = {"metadata": {"name": "reader"}, "rules": []}
    role_uid = (await call(rbac.create_cluster_role, role)).metadata.uid
    _, _, status = await raw(rbac.delete_cluster_role, "reader")
    assert status["status"] == "Success"
    assert status["details"] == {
        "name": "reader",
        "group": "rbac.authorization.k8s.io",
        "kind": "clusterroles",
        "uid": role_uid,
    }
    # Pods, services, service accounts and claims answer with the object (ReturnDeletedObject).
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    await call(core.create_namespaced_pod, "default", pod)
    _, _, deleted_pod = await raw(core.delete_namespaced_pod, "p", "default")
    assert (deleted_pod["kind"], deleted_pod["metadata"]["name"]) == ("Pod", "p")
    await call(core.create_namespaced_service_account, "default", {"metadata": {"name": "robot"}})
    _, _, deleted_sa = await raw(core.delete_namespaced_service_account, "robot", "default")
    assert deleted_sa["kind"] == "ServiceAccount"
    # A namespace answers with itself, Terminating, while it is finalized.
    await call(core.create_namespace, {"metadata": {"name": "short-lived"}})
    _, _, namespace = await raw(core.delete_namespace, "short-lived")
    assert (namespace["kind"], namespace["status"]["phase"]) == ("Namespace", "Terminating")


# -- watch history -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_watch_replays_each_object_as_it_was_at_its_version(
    official: client.ApiClient,
) -> None:
    core = client.CoreV1Api(official)
    start = (await call(core.list_namespaced_config_map, "default")).metadata.resource_version
    await call(core.create_namespaced_config_map, "default", config_map("history", v="1"))
    await call(core.patch_namespaced_config_map, "history", "default", {"data": {"v": "2"}})
    await call(core.delete_namespaced_config_map, "history", "default")

    def replay() -> list[tuple[str, str, str | None, str]]:
        events = watch.Watch().stream(  # type: ignore[no-untyped-call]
            core.list_namespaced_config_map,
            "default",
            resource_version=start,
            timeout_seconds=1,
        )
        return [
            (
                e["type"],
                e["object"].data["v"],
                e["object"].metadata.deletion_timestamp,
                e["object"].metadata.resource_version,
            )
            for e in events
        ]

    events = await call(replay)
    assert [(t, v, d is None) for t, v, d, _ in events] == [
        ("ADDED", "1", True),
        ("MODIFIED", "2", True),
        ("DELETED", "2", True),
    ]
    versions = [int(rv) for *_, rv in events]
    assert versions == sorted(set(versions)) and versions[0] > int(start)


@pytest.mark.asyncio
async def test_watch_replay_of_a_deleted_namespace_shows_it_active_first(
    official: client.ApiClient,
) -> None:
    core = client.CoreV1Api(official)
    start = (await call(core.list_namespace)).metadata.resource_version
    await call(core.create_namespace, {"metadata": {"name": "brief"}})
    await call(core.delete_namespace, "brief")

    def replay() -> list[tuple[str, str, str]]:
        events = watch.Watch().stream(  # type: ignore[no-untyped-call]
            core.list_namespace, resource_version=start, timeout_seconds=1
        )
        return [
            (e["type"], e["object"].status.phase, e["object"].metadata.resource_version)
            for e in events
            if e["object"].metadata.name == "brief"
        ]

    events = await call(replay)
    assert [(t, phase) for t, phase, _ in events] == [
        ("ADDED", "Active"),
        ("MODIFIED", "Terminating"),
        ("DELETED", "Terminating"),
    ]
    versions = [int(rv) for *_, rv in events]
    assert versions == sorted(set(versions))


# -- pagination ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_list_pages_come_from_one_snapshot(
    bare_cluster: Cluster, official: client.ApiClient
) -> None:
    core = client.CoreV1Api(official)
    await call(core.create_namespace, {"metadata": {"name": "paging"}})
    for i in range(5):
        await call(core.create_namespaced_config_map, "paging", config_map(f"cm-{i}", "paging"))
    first = await call(core.list_namespaced_config_map, "paging", limit=2)
    assert [c.metadata.name for c in first.items] == ["cm-0", "cm-1"]
    assert first.metadata._continue and first.metadata.remaining_item_count == 3
    # Changes after the first page do not show in the later ones.
    await call(core.create_namespaced_config_map, "paging", config_map("cm-00", "paging"))
    await call(core.delete_namespaced_config_map, "cm-3", "paging")
    second = await call(
        core.list_namespaced_config_map, "paging", limit=2, _continue=first.metadata._continue
    )
    assert [c.metadata.name for c in second.items] == ["cm-2", "cm-3"]
    assert second.metadata.resource_version == first.metadata.resource_version
    assert second.metadata.remaining_item_count == 1
    third = await call(
        core.list_namespaced_config_map, "paging", limit=2, _continue=second.metadata._continue
    )
    assert [c.metadata.name for c in third.items] == ["cm-4"]
    assert third.metadata._continue is None and third.metadata.remaining_item_count is None
    # The whole list, unpaged, sees the changes.
    everything = await call(core.list_namespaced_config_map, "paging")
    names = [c.metadata.name for c in everything.items]
    assert "cm-00" in names and "cm-3" not in names
    assert everything.metadata._continue is None


@pytest.mark.asyncio
async def test_an_expired_continue_token_is_410_gone(
    bare_cluster: Cluster, official: client.ApiClient
) -> None:
    core = client.CoreV1Api(official)
    for i in range(3):
        await call(core.create_namespaced_config_map, "default", config_map(f"page-{i}"))
    first = await call(core.list_namespaced_config_map, "default", limit=1)
    # Enough writes to push the snapshot out of the history kept (etcd's compaction).
    store = bare_cluster.store
    for i in range(store.history_size + 1):
        obj = store.get(kinds.CONFIG_MAPS, "page-0", namespace="default")
        obj["data"] = {"n": str(i)}
        store.replace(kinds.CONFIG_MAPS, obj)
    with pytest.raises(ApiException) as caught:
        await call(
            core.list_namespaced_config_map, "default", limit=1, _continue=first.metadata._continue
        )
    assert caught.value.status == 410
    assert caught.value.body is not None
    body = json.loads(caught.value.body)
    assert (body["reason"], body["code"]) == ("Expired", 410)
    with pytest.raises(ApiException) as garbled:
        await call(core.list_namespaced_config_map, "default", limit=1, _continue="garbage")
    assert garbled.value.status == 400


# -- discovery -----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_discovery_reports_storage_version_hashes(official: client.ApiClient) -> None:
    resources = (await call(client.CoreV1Api(official).get_api_resources)).resources
    by_name = {r.name: r for r in resources}
    # base64 of the first 8 bytes of sha256("/v1/Pod"), as kube-apiserver reports it.
    assert by_name["pods"].storage_version_hash == "xPOwRZ+Yhw8="
    assert by_name["pods/log"].storage_version_hash is None
    hashes = [r.storage_version_hash for r in resources if "/" not in r.name]
    assert None not in hashes and len(set(hashes)) == len(hashes)
