"""The scheduler's filters and messages, alone and as pods see them in the store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from kubesim import kinds
from kubesim.faults import Faults
from kubesim.images import ImageCatalogue
from kubesim.kubelet import Kubelet, KubeletTimings
from kubesim.kubelet.scheduling import place, tolerates
from kubesim.store import Store

MASTER_TAINT = {"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"}
INFRA_TAINT = {"key": "infra", "value": "reserved", "effect": "NoExecute"}


def node(
    name: str,
    *,
    labels: dict[str, str] | None = None,
    taints: list[Any] | None = None,
    ready: bool = True,
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"taints": taints or []},
        "status": {
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "addresses": [{"type": "InternalIP", "address": f"192.168.0.{len(name)}"}],
        },
    }


CLUSTER = [
    node("master-0", labels={"node-role.kubernetes.io/master": ""}, taints=[MASTER_TAINT]),
    node("master-1", labels={"node-role.kubernetes.io/master": ""}, taints=[MASTER_TAINT]),
    node("worker-0", labels={"node-role.kubernetes.io/worker": ""}),
    node("worker-1", labels={"node-role.kubernetes.io/worker": ""}, taints=[INFRA_TAINT]),
    node("worker-2", labels={"node-role.kubernetes.io/worker": ""}, ready=False),
]


def pod_spec(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p"}, "spec": spec}


def test_tolerations() -> None:
    assert tolerates([{"operator": "Exists"}], MASTER_TAINT)
    assert tolerates([{"key": "infra", "operator": "Equal", "value": "reserved"}], INFRA_TAINT)
    assert not tolerates([{"key": "infra", "value": "other"}], INFRA_TAINT)
    assert not tolerates(
        [{"key": "infra", "operator": "Exists", "effect": "NoSchedule"}], INFRA_TAINT
    )
    assert tolerates(
        [{"key": "node-role.kubernetes.io/master", "operator": "Exists"}], MASTER_TAINT
    )


def test_plain_pod_lands_on_the_only_open_worker() -> None:
    assert place(pod_spec(), CLUSTER).node == "worker-0"


def test_node_selector_and_tolerations_choose_among_masters() -> None:
    spec = pod_spec(
        nodeSelector={"node-role.kubernetes.io/master": ""},
        tolerations=[{"operator": "Exists"}],
    )
    assert place(spec, CLUSTER, pods_per_node={"master-0": 2}).node == "master-1"


def test_required_node_affinity() -> None:
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": "node-role.kubernetes.io/worker", "operator": "Exists"}
                        ]
                    }
                ]
            }
        }
    }
    spec = pod_spec(affinity=affinity, tolerations=[{"key": "infra", "operator": "Exists"}])
    assert place(spec, CLUSTER, pods_per_node={"worker-0": 5}).node == "worker-1"


def test_unplaceable_pod_gets_the_schedulers_message() -> None:
    placement = place(pod_spec(nodeSelector={"disk": "ssd"}), CLUSTER)
    assert placement.node is None
    assert placement.message == (
        "0/5 nodes are available: 5 node(s) didn't match Pod's node affinity/selector. "
        "preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling."
    )
    spec = pod_spec(nodeSelector={"node-role.kubernetes.io/master": ""})
    assert place(spec, CLUSTER).message.startswith(
        "0/5 nodes are available: 2 node(s) had untolerated taint "
        "{node-role.kubernetes.io/master: }, 3 node(s) didn't match Pod's node affinity/selector."
    )
    assert place(pod_spec(), []).message == "no nodes available to schedule pods"


# -- as the kubelet runs it against a store ---------------------------------------------------


@pytest_asyncio.fixture
async def kubelet(tmp_path: Path) -> AsyncIterator[Kubelet]:
    store = Store()
    store.create(kinds.NAMESPACES, {"metadata": {"name": "default"}})
    for n in CLUSTER:
        store.create(kinds.NODES, n)
    ca = tmp_path / "ca.crt"
    ca.write_text("CA")
    kubelet = Kubelet(
        store=store,
        images=ImageCatalogue.default(),
        state_dir=tmp_path / "state",
        api_url="https://127.0.0.1:6443",
        ca_file=ca,
        faults=Faults(store=store),
        token_for_service_account=lambda ns, name: f"token-{ns}-{name}",
        timings=KubeletTimings(schedule_retry_seconds=0.05),
    )
    await kubelet.start()
    try:
        yield kubelet
    finally:
        await kubelet.stop()


async def wait_for(
    store: Store, name: str, ready: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    async with asyncio.timeout(10), store.watch(kinds.PODS) as watch:
        pod = store.get(kinds.PODS, name, namespace="default")
        if ready(pod):
            return pod
        async for _, obj in watch:
            if obj["metadata"]["name"] == name and ready(obj):
                return obj
    raise AssertionError("watch ended")


def sleeper(name: str, **spec: Any) -> dict[str, Any]:
    containers = [{"name": "main", "image": "busybox", "command": ["sleep", "30"]}]
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": containers, **spec},
    }


def condition(pod: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in pod["status"]["conditions"] if c["type"] == type_)


@pytest.mark.asyncio
async def test_unschedulable_pod_stays_pending_with_an_event(kubelet: Kubelet) -> None:
    store = kubelet.store
    store.create(kinds.PODS, sleeper("nowhere", nodeSelector={"disk": "ssd"}))
    pod = await wait_for(store, "nowhere", lambda p: bool(p.get("status", {}).get("conditions")))
    assert pod["status"]["phase"] == "Pending"
    scheduled = condition(pod, "PodScheduled")
    assert (scheduled["status"], scheduled["reason"]) == ("False", "Unschedulable")
    assert scheduled["message"].startswith("0/5 nodes are available: ")
    assert "nodeName" not in pod["spec"]
    events = store.list(kinds.EVENTS, namespace="default")
    failed = [e for e in events if e["reason"] == "FailedScheduling"]
    assert failed and failed[0]["type"] == "Warning"
    assert failed[0]["source"]["component"] == "default-scheduler"

    # A node that fits appears: the pending pod is placed on it.
    store.create(kinds.NODES, node("ssd-0", labels={"disk": "ssd"}))
    placed = await wait_for(store, "nowhere", lambda p: p["spec"].get("nodeName") == "ssd-0")
    assert placed["spec"]["nodeName"] == "ssd-0"


@pytest.mark.asyncio
async def test_pod_bound_to_a_missing_or_not_ready_node_stays_pending(kubelet: Kubelet) -> None:
    store = kubelet.store
    store.create(kinds.PODS, sleeper("bound", nodeName="worker-2"))
    store.create(kinds.PODS, sleeper("placed"))
    placed = await wait_for(
        store, "placed", lambda p: p.get("status", {}).get("phase") == "Running"
    )
    assert placed["spec"]["nodeName"] == "worker-0"
    events = {e["reason"] for e in store.list(kinds.EVENTS, namespace="default")}
    assert {"Scheduled", "Pulling", "Pulled", "Created", "Started"} <= events
    bound = store.get(kinds.PODS, "bound", namespace="default")
    assert "containerStatuses" not in bound.get("status", {})
    assert not kubelet.workers[("default", "bound")].sandbox_ready

    # The node turns Ready: its kubelet starts the pod.
    worker_2 = store.get(kinds.NODES, "worker-2")
    worker_2["status"]["conditions"][0]["status"] = "True"
    store.replace(kinds.NODES, worker_2)
    running = await wait_for(
        store, "bound", lambda p: p.get("status", {}).get("phase") == "Running"
    )
    assert running["status"]["hostIP"] == "192.168.0.8"
