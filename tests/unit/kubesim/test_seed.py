"""The objects a new cluster starts with."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kubesim import kinds
from kubesim.images import ImageCatalogue
from kubesim.seed import LOG_ANNOTATION, STATIC_ANNOTATION, log_annotation, seed_objects
from kubesim.store import Store

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def of(kind: kinds.Kind, *, openshift: bool = True) -> list[dict[str, Any]]:
    return [obj for k, obj in seed_objects(openshift=openshift, now=NOW) if k == kind]


@pytest.mark.parametrize("openshift", [True, False])
def test_every_seed_object_is_accepted_by_the_store(openshift: bool) -> None:
    store = Store()
    for kind, obj in seed_objects(openshift=openshift):
        if kind == kinds.SERVICE_ACCOUNTS:
            store.restore(kind, [obj])  # the store makes default accounts itself
        else:
            store.create(kind, obj)
    served = kinds.served_kinds(openshift=openshift)
    assert all(kind in served for kind, _ in seed_objects(openshift=openshift))
    for ns in store.list(kinds.NAMESPACES):
        name = ns["metadata"]["name"]
        assert store.get(kinds.SERVICE_ACCOUNTS, "default", namespace=name)


def test_nodes_masters_and_workers() -> None:
    nodes = {n["metadata"]["name"]: n for n in of(kinds.NODES)}
    assert sorted(nodes) == ["master-0", "master-1", "master-2", "worker-0", "worker-1"]
    heartbeats = set()
    for name, node in nodes.items():
        labels = node["metadata"]["labels"]
        ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready[0]["status"] == "True"
        heartbeats.add(ready[0]["lastHeartbeatTime"])
        if name.startswith("master"):
            assert "node-role.kubernetes.io/master" in labels
            assert "node-role.kubernetes.io/control-plane" in labels
            taints = node["spec"]["taints"]
            assert {"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"} in taints
        else:
            assert "node-role.kubernetes.io/worker" in labels
    assert len(heartbeats) == 5
    assert "taints" not in nodes["worker-0"]["spec"] and nodes["worker-1"]["spec"]["taints"]


def test_static_pods_are_marked_and_carry_their_logs() -> None:
    pods = of(kinds.PODS)
    assert pods
    for pod in pods:
        annotations = pod["metadata"]["annotations"]
        assert annotations[STATIC_ANNOTATION] == "true"
        assert pod["status"]["phase"] == "Running"
        for container in pod["spec"]["containers"]:
            lines = annotations[log_annotation(container["name"])].splitlines()
            assert lines, pod["metadata"]["name"]
            stamp = lines[0].split(" ", 1)[0]
            assert datetime.fromisoformat(stamp[:26] + "+00:00") < NOW
        if len(pod["spec"]["containers"]) == 1:
            assert LOG_ANNOTATION in annotations


def test_plain_kubernetes_has_no_openshift_objects() -> None:
    seeded = seed_objects(openshift=False)
    assert not [k for k, _ in seeded if k.openshift]
    names = {o["metadata"]["name"] for k, o in seeded if k == kinds.NAMESPACES}
    assert "migration-demo" in names and not any(n.startswith("openshift") for n in names)


def test_openshift_objects_point_at_things_that_exist() -> None:
    namespaces = {ns["metadata"]["name"] for ns in of(kinds.NAMESPACES)}
    (version,) = of(kinds.CLUSTER_VERSIONS)
    assert version["metadata"]["name"] == "version"
    assert version["status"]["desired"]["version"].startswith("4.18.")
    for operator in of(kinds.CLUSTER_OPERATORS):
        related = operator["status"]["relatedObjects"]
        assert any(r["resource"] == "namespaces" and r["name"] in namespaces for r in related)
    (stream,) = of(kinds.IMAGE_STREAMS)
    assert stream["metadata"] == {"name": "must-gather", "namespace": "openshift"}
    item = stream["status"]["tags"][0]["items"][0]
    catalogue = ImageCatalogue.default()
    resolved = catalogue.resolve(item["dockerImageReference"])
    assert resolved is not None and resolved.digest == item["image"]
    annotation = "operators.openshift.io/must-gather-image"
    images = [c["metadata"]["annotations"][annotation] for c in of(kinds.CLUSTER_SERVICE_VERSIONS)]
    assert "quay.io/kubev2v/forklift-must-gather:latest" in images
    assert all(catalogue.resolve(image) is not None for image in images)


def test_forklift_objects_in_both_namespaces() -> None:
    (controller,) = of(kinds.FORKLIFT_CONTROLLERS)
    assert controller["metadata"]["namespace"] == "openshift-mtv"
    plans = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in of(kinds.PLANS)}
    assert set(plans) == {
        ("openshift-mtv", "prod-cold-migration"),
        ("openshift-mtv", "prod-warm-migration"),
        ("migration-demo", "demo-cold-plan"),
    }
    assert all(p["spec"]["vms"] for p in plans.values())
    migrated = {m["spec"]["plan"]["name"] for m in of(kinds.MIGRATIONS)}
    assert migrated == {name for _, name in plans}
    provider_ns = {p["metadata"]["namespace"] for p in of(kinds.PROVIDERS)}
    assert provider_ns == {"openshift-mtv", "migration-demo"}


def test_seed_is_deterministic_for_a_given_time() -> None:
    assert seed_objects(openshift=True, now=NOW) == seed_objects(openshift=True, now=NOW)
