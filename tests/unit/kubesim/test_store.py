"""The object store: versions, names, validation, watches, namespace and owner cascades."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kubesim import kinds
from kubesim.errors import AlreadyExists, BadRequest, Conflict, Forbidden, Gone, Invalid, NotFound
from kubesim.store import Store


def _pod(name: str = "p", namespace: str = "default", **labels: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], "nodeName": "worker-0"},
        "status": {"phase": "Pending"},
    }


@pytest.fixture
def store() -> Store:
    s = Store()
    s.create(kinds.NAMESPACES, {"metadata": {"name": "default"}})
    return s


def test_create_fills_metadata_and_returns_a_copy(store: Store) -> None:
    created = store.create(kinds.PODS, _pod())
    meta = created["metadata"]
    assert created["apiVersion"] == "v1" and created["kind"] == "Pod"
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z")
    assert int(meta["resourceVersion"]) > 0
    created["metadata"]["labels"]["mutated"] = "yes"
    assert "mutated" not in store.get(kinds.PODS, "p", namespace="default")["metadata"]["labels"]


def test_generate_name_and_default_service_account(store: Store) -> None:
    created = store.create(kinds.PODS, {**_pod(), "metadata": {"generateName": "gather-"}})
    assert created["metadata"]["name"].startswith("gather-")
    assert len(created["metadata"]["name"]) == len("gather-") + 5
    store.create(kinds.NAMESPACES, {"metadata": {"name": "fresh"}})
    assert store.get(kinds.SERVICE_ACCOUNTS, "default", namespace="fresh")
    assert store.get(kinds.NAMESPACES, "fresh")["status"] == {"phase": "Active"}


def test_errors(store: Store) -> None:
    store.create(kinds.PODS, _pod())
    with pytest.raises(AlreadyExists, match='pods "p" already exists'):
        store.create(kinds.PODS, _pod())
    with pytest.raises(NotFound, match='pods "q" not found'):
        store.get(kinds.PODS, "q", namespace="default")
    with pytest.raises(NotFound, match='namespaces "elsewhere" not found'):
        store.create(kinds.PODS, _pod(namespace="elsewhere"))
    with pytest.raises(Invalid) as invalid:
        store.create(kinds.PODS, {"metadata": {"name": "x"}, "spec": {"containers": []}})
    assert invalid.value.code == 422
    assert invalid.value.causes[0]["field"] == "spec.containers"
    with pytest.raises(Invalid, match="RFC 1123"):
        store.create(kinds.CONFIG_MAPS, {"metadata": {"name": "Bad_Name"}})


@pytest.mark.parametrize(
    ("labels", "wrong"),
    [
        ({"a": "-bad-"}, '"-bad-": a valid label must be an empty string'),
        ({"a": "x" * 64}, "a valid label"),
        ({"-a": "ok"}, '"-a": name part must consist'),
        ({"Example.COM/a": "ok"}, '"Example.COM/a": name part'),
    ],
)
def test_labels_are_validated_as_kube_apiserver_does(
    store: Store, labels: dict[str, str], wrong: str
) -> None:
    with pytest.raises(Invalid) as invalid:
        store.create(kinds.NAMESPACES, {"metadata": {"name": "n", "labels": labels}})
    assert invalid.value.causes[0]["field"] == "metadata.labels"
    assert wrong in str(invalid.value)
    # What is allowed: prefixed keys, dots, underscores, empty values.
    fine = {"example.com/a_b.c": "", "must-gather-api.io/instance": "My_value.1"}
    store.create(kinds.NAMESPACES, {"metadata": {"name": "n", "labels": fine}})


def test_replace_checks_resource_version(store: Store) -> None:
    created = store.create(kinds.PODS, _pod())
    created["metadata"]["labels"] = {"new": "1"}
    updated = store.replace(kinds.PODS, created)
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    with pytest.raises(Conflict, match="the object has been modified"):
        store.replace(kinds.PODS, created)  # still carries the old resourceVersion


@pytest.mark.parametrize(
    ("label_selector", "field_selector", "expected"),
    [
        ("app=a", None, ["a1", "a2"]),
        ("app!=a", None, ["b1", "none"]),
        ("app in (a,b),tier", None, ["a2", "b1"]),
        ("app notin (a)", None, ["b1", "none"]),
        ("!app", None, ["none"]),
        (None, "metadata.name=a1", ["a1"]),
        (None, "status.phase!=Pending", ["b1"]),
        ("app==a", "spec.nodeName=worker-0", ["a1", "a2"]),
    ],
)
def test_list_with_selectors(
    store: Store, label_selector: str | None, field_selector: str | None, expected: list[str]
) -> None:
    store.create(kinds.PODS, _pod("a1", app="a"))
    store.create(kinds.PODS, _pod("a2", app="a", tier="x"))
    running = _pod("b1", app="b", tier="y")
    running["status"]["phase"] = "Running"
    store.create(kinds.PODS, running)
    store.create(kinds.PODS, _pod("none"))
    found = store.list(kinds.PODS, label_selector=label_selector, field_selector=field_selector)
    assert [p["metadata"]["name"] for p in found] == expected


def test_bad_selector_is_bad_request(store: Store) -> None:
    with pytest.raises(BadRequest):
        store.list(kinds.PODS, label_selector="app in (a")


@pytest.mark.asyncio
async def test_watch_sees_changes_in_order_and_unsubscribes(store: Store) -> None:
    async with store.watch(kinds.PODS, namespace="default") as w:
        created = store.create(kinds.PODS, _pod())
        store.replace(kinds.PODS, created)
        store.delete(kinds.PODS, "p", namespace="default")
        events = [await anext(w) for _ in range(3)]
    assert [e[0] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert not store._watches


@pytest.mark.asyncio
async def test_watch_replays_from_a_resource_version(store: Store) -> None:
    first = store.create(kinds.PODS, _pod("one"))
    store.create(kinds.PODS, _pod("two"))
    async with store.watch(kinds.PODS, since=first["metadata"]["resourceVersion"]) as w:
        type_, obj = await asyncio.wait_for(anext(w), 5)
    assert (type_, obj["metadata"]["name"]) == ("ADDED", "two")


def test_watch_from_a_forgotten_version_is_gone() -> None:
    store = Store(history=2)
    store.create(kinds.NAMESPACES, {"metadata": {"name": "a"}})
    store.create(kinds.NAMESPACES, {"metadata": {"name": "b"}})
    with pytest.raises(Gone):
        store.watch(kinds.NAMESPACES, since="1")


@pytest.mark.asyncio
async def test_closed_watch_ends_iteration(store: Store) -> None:
    w = store.watch(kinds.PODS)
    waiter = asyncio.create_task(anext(w), name="watch-waiter")
    await asyncio.sleep(0)
    w.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiter, 5)


@pytest.mark.asyncio
async def test_namespace_deletion_cascades(store: Store) -> None:
    ns = store.create(kinds.NAMESPACES, {"metadata": {"name": "doomed"}})
    store.create(kinds.PODS, _pod(namespace="doomed"))
    store.create(kinds.PODS, _pod(namespace="default"))
    owner = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "name": "doomed",
        "uid": ns["metadata"]["uid"],
    }
    store.create(
        kinds.CLUSTER_ROLE_BINDINGS,
        {"metadata": {"name": "owned", "ownerReferences": [owner]}, "roleRef": {}, "subjects": []},
    )
    store.create(kinds.CLUSTER_ROLE_BINDINGS, {"metadata": {"name": "free"}, "roleRef": {}})
    async with store.watch(kinds.NAMESPACES) as ns_watch, store.watch(kinds.PODS) as pod_watch:
        deleted = store.delete(kinds.NAMESPACES, "doomed")
        assert deleted["status"]["phase"] == "Terminating"
        first = await anext(ns_watch)
        assert first[0] == "MODIFIED" and first[1]["status"]["phase"] == "Terminating"
        assert (await anext(ns_watch))[0] == "DELETED"
        kind, pod = await anext(pod_watch)
        assert (kind, pod["metadata"]["namespace"]) == ("DELETED", "doomed")
    assert [p["metadata"]["namespace"] for p in store.list(kinds.PODS)] == ["default"]
    assert [b["metadata"]["name"] for b in store.list(kinds.CLUSTER_ROLE_BINDINGS)] == ["free"]
    assert store.list(kinds.SERVICE_ACCOUNTS, namespace="doomed") == []


def test_no_new_content_in_a_terminating_namespace(store: Store) -> None:
    ns = store.get(kinds.NAMESPACES, "default")
    ns["status"]["phase"] = "Terminating"
    store.replace(kinds.NAMESPACES, ns)
    with pytest.raises(Forbidden, match="is being terminated"):
        store.create(kinds.PODS, _pod())


def test_restore_keeps_timestamps_and_skips_existing(store: Store) -> None:
    old = {
        "metadata": {
            "name": "cm",
            "namespace": "default",
            "creationTimestamp": "2020-01-01T00:00:00Z",
        }
    }
    store.restore(kinds.CONFIG_MAPS, [old, old])
    assert store.get(kinds.CONFIG_MAPS, "cm", namespace="default")["metadata"][
        "creationTimestamp"
    ] == ("2020-01-01T00:00:00Z")
