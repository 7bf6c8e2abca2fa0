"""Container lifecycles: restarts, graceful deletion, namespace deletion, NotReady, stop."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from kubesim import kinds
from kubesim.faults import Faults
from kubesim.images import ImageCatalogue
from kubesim.kubelet import Kubelet, KubeletTimings
from kubesim.store import Store

NS = "work"


@pytest_asyncio.fixture
async def kubelet(tmp_path: Path) -> AsyncIterator[Kubelet]:
    store = Store()
    store.create(kinds.NAMESPACES, {"metadata": {"name": NS}})
    store.create(
        kinds.NODES,
        {
            "metadata": {"name": "worker-0"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        },
    )
    ca = tmp_path / "ca.crt"
    ca.write_text("CA")
    kubelet = Kubelet(
        store=store,
        images=ImageCatalogue.default(),
        state_dir=tmp_path / "state",
        api_url="https://127.0.0.1:6443",
        ca_file=ca,
        faults=Faults(store=store),
        token_for_service_account=lambda ns, name: "token",
        timings=KubeletTimings(restart_backoff_seconds=0.1),
    )
    await kubelet.start()
    try:
        yield kubelet
    finally:
        await kubelet.stop()


def pod(name: str, script: str, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {"name": "main", "image": "busybox", "command": ["/bin/sh", "-c", script]}
            ],
            **spec,
        },
    }


async def wait_for(
    store: Store, name: str, ready: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    async with asyncio.timeout(15), store.watch(kinds.PODS) as watch:
        try:
            current = store.get(kinds.PODS, name, namespace=NS)
            if ready(current):
                return current
        except Exception:
            pass
        async for _, obj in watch:
            if obj["metadata"]["name"] == name and ready(obj):
                return obj
    raise AssertionError("watch ended")


def main_status(pod: dict[str, Any]) -> dict[str, Any]:
    statuses = pod.get("status", {}).get("containerStatuses") or [{}]
    status: dict[str, Any] = statuses[0]
    return status


def running(pod: dict[str, Any]) -> bool:
    return "running" in main_status(pod).get("state", {})


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # reaped between the two looks
        return False


async def gone(pid: int) -> None:
    async with asyncio.timeout(10):
        while alive(pid):
            await asyncio.sleep(0.02)


def main_pid(kubelet: Kubelet, name: str) -> int:
    run = kubelet.workers[(NS, name)].runners[0].run_
    assert run is not None and run.process is not None
    return run.process.pid


@pytest.mark.asyncio
async def test_exit_codes_and_phases(kubelet: Kubelet) -> None:
    store = kubelet.store
    store.create(kinds.PODS, pod("fails", "echo bye; exit 3"))
    failed = await wait_for(store, "fails", lambda p: p.get("status", {}).get("phase") == "Failed")
    terminated = main_status(failed)["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (3, "Error")
    assert terminated["startedAt"] and terminated["finishedAt"]
    ready = next(c for c in failed["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "PodCompleted")


@pytest.mark.asyncio
async def test_on_failure_restarts_with_a_count_and_keeps_previous_logs(kubelet: Kubelet) -> None:
    store = kubelet.store
    # Fails twice, then succeeds: the count lives in the shared emptyDir.
    script = (
        "n=$(cat /data/n 2>/dev/null || echo 0); echo run $n; echo $((n+1)) > /data/n; [ $n -ge 2 ]"
    )
    spec = pod(
        "flaky", script, restartPolicy="OnFailure", volumes=[{"name": "data", "emptyDir": {}}]
    )
    spec["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    store.create(kinds.PODS, spec)
    done = await wait_for(store, "flaky", lambda p: p.get("status", {}).get("phase") == "Succeeded")
    status = main_status(done)
    assert status["restartCount"] == 2
    assert status["lastState"]["terminated"]["exitCode"] == 1
    current = kubelet.log_source(NS, "flaky", None)
    previous = kubelet.log_source(NS, "flaky", None, previous=True)
    assert current.path is not None and previous.path is not None
    assert current.path.read_text().endswith(" stdout F run 2\n")
    assert previous.path.read_text().endswith(" stdout F run 1\n")


@pytest.mark.asyncio
async def test_graceful_delete_sends_sigterm_and_removes_the_pod_after(kubelet: Kubelet) -> None:
    store = kubelet.store
    script = "trap 'echo got TERM; exit 0' TERM; echo up; while :; do sleep 0.05; done"
    store.create(kinds.PODS, pod("graceful", script, terminationGracePeriodSeconds=10))
    await wait_for(store, "graceful", running)
    pid = main_pid(kubelet, "graceful")
    answer = kubelet.delete_pod(NS, "graceful")
    assert answer["metadata"]["deletionTimestamp"]
    assert answer["metadata"]["deletionGracePeriodSeconds"] == 10
    async with asyncio.timeout(10), store.watch(kinds.PODS, namespace=NS) as watch:
        async for event_type, obj in watch:
            if event_type == "DELETED" and obj["metadata"]["name"] == "graceful":
                break
    assert not alive(pid)
    reasons = [e["reason"] for e in store.list(kinds.EVENTS, namespace=NS)]
    assert "Killing" in reasons


@pytest.mark.asyncio
async def test_sigkill_after_the_grace_period(kubelet: Kubelet) -> None:
    store = kubelet.store
    store.create(kinds.PODS, pod("stubborn", "trap '' TERM; while :; do sleep 0.05; done"))
    await wait_for(store, "stubborn", running)
    pid = main_pid(kubelet, "stubborn")
    loop = asyncio.get_running_loop()
    started = loop.time()
    kubelet.delete_pod(NS, "stubborn", grace_period_seconds=1)
    await gone(pid)
    assert loop.time() - started >= 0.9


@pytest.mark.asyncio
async def test_namespace_deletion_stops_the_processes(kubelet: Kubelet) -> None:
    store = kubelet.store
    store.create(kinds.PODS, pod("doomed", "sleep 300 & wait", terminationGracePeriodSeconds=5))
    await wait_for(store, "doomed", running)
    pid = main_pid(kubelet, "doomed")
    store.delete(kinds.NAMESPACES, NS)
    await gone(pid)
    async with asyncio.timeout(10):
        while kubelet.workers:
            await asyncio.sleep(0.02)


@pytest.mark.asyncio
async def test_node_not_ready_turns_pods_unready(kubelet: Kubelet) -> None:
    store = kubelet.store
    store.create(kinds.PODS, pod("steady", "sleep 300"))
    await wait_for(store, "steady", running)
    kubelet.faults.node_not_ready("worker-0")

    def unready(p: dict[str, Any]) -> bool:
        ready = next(c for c in p["status"]["conditions"] if c["type"] == "Ready")
        return bool(ready["status"] == "False")

    after = await wait_for(store, "steady", unready)
    ready = next(c for c in after["status"]["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "NodeNotReady"
    assert main_status(after)["ready"] is False


@pytest.mark.asyncio
async def test_stop_kills_every_process_including_escaped_sessions(kubelet: Kubelet) -> None:
    store = kubelet.store
    # setsid leaves the process group, as oc's must-gather command does.
    store.create(kinds.PODS, pod("escaper", "setsid sleep 300 & echo $! > /tmp/pid; wait"))
    await wait_for(store, "escaper", running)
    root = kubelet.workers[(NS, "escaper")].dirs.container_root("main")
    async with asyncio.timeout(10):
        while not (root / "tmp" / "pid").exists() or not (root / "tmp" / "pid").read_text().strip():
            await asyncio.sleep(0.02)
    escaped = int((root / "tmp" / "pid").read_text())
    main = main_pid(kubelet, "escaper")
    await kubelet.stop()
    assert not alive(main)
    await gone(escaped)
