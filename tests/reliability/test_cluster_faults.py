"""Cluster faults the native-failure tests do not already try: 500 bursts, latency, watch and
log-stream disconnects, a node NotReady under a running pod, and faults switched on in a
separate kubesim process through its admin endpoint mid-run. Each run ends completed or with
a reason naming the fault, within its timeout, and leaves nothing in the cluster.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from kubesim import kinds
from kubesim.cluster import Cluster
from support.native import Lines, executor_for, image_dirs, job, leftovers
from support.processes import kubesim_process, service_environment, service_process

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(120)]

NEVER_ENDS = "kubesim.local/must-gather-never-ends:latest"
LARGE = "kubesim.local/must-gather-large-output:latest"
HARD_LIMIT = 60.0  # no run below may take longer, whatever the fault


async def gather_running(cluster: Cluster) -> dict[str, object]:
    """The pod of ours whose gather container runs (a watch, not a sleep)."""

    def running(pod: dict[str, Any]) -> bool:
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        return any(s["name"] == "gather" and "running" in s["state"] for s in statuses)

    async with asyncio.timeout(30), cluster.store.watch(kinds.PODS) as watch:
        for pod in cluster.store.list(kinds.PODS):
            if running(pod):
                return pod
        async for _, pod in watch:
            if running(pod):
                return pod
    raise AssertionError("unreachable")


# 500s at each step of the service's own (kube:admin's) calls: listing and creating
# namespaces, reading the pod while it runs, streaming its log, the copy's exec. Aimed, not
# at a rate: the gather pod makes ten times as many calls on the same paths and tolerates
# failures without a word, so a random burst once landed there whole and nothing was retried.
BURST = {
    r"/namespaces$": 2,
    r"/pods/must-gather-[^/]+$": 2,
    r"/log$": 1,
    r"/exec$": 1,
}


async def test_a_burst_of_500s_is_retried_to_completion(kubesim: Cluster, tmp_path: Path) -> None:
    for path, count in BURST.items():
        kubesim.faults.apply_spec(f"api-error=500:count={count}:path={path}:user=kube:admin")
    executor = await executor_for(kubesim, tmp_path)
    output = Lines()
    async with asyncio.timeout(HARD_LIMIT):
        outcome = await executor.run(job(tmp_path), output)
    assert outcome.succeeded, f"{outcome.error_reason}\n{output.text}"
    assert [rule.count for rule in kubesim.faults.api_errors] == [0] * len(BURST), (
        "a part of the burst was not used up"
    )
    retried = [line for line in output.lines if "retrying in" in line]
    assert len(retried) == sum(BURST.values()), "\n".join(retried)
    assert leftovers(kubesim) == []


async def test_a_cluster_that_keeps_failing_ends_with_the_status_named(
    kubesim: Cluster, tmp_path: Path
) -> None:
    kubesim.faults.apply_spec("api-error=503:path=/namespaces$")
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path, timeout=10)
    async with asyncio.timeout(HARD_LIMIT):
        outcome = await executor.run(gathering, Lines())
    assert not outcome.succeeded
    assert "503" in outcome.error_reason or "Service Unavailable" in outcome.error_reason, (
        outcome.error_reason
    )
    kubesim.faults.clear()
    assert leftovers(kubesim) == []


async def test_latency_on_every_call_still_completes(kubesim: Cluster, tmp_path: Path) -> None:
    kubesim.faults.latency_seconds = 0.05
    executor = await executor_for(kubesim, tmp_path)
    output = Lines()
    async with asyncio.timeout(HARD_LIMIT):
        outcome = await executor.run(job(tmp_path, timeout=50), output)
    assert outcome.succeeded, f"{outcome.error_reason}\n{output.text}"
    assert leftovers(kubesim) == []


async def test_watches_cut_after_every_event_still_complete(
    kubesim: Cluster, tmp_path: Path
) -> None:
    kubesim.faults.watch_disconnect_after = 1
    executor = await executor_for(kubesim, tmp_path)
    output = Lines()
    async with asyncio.timeout(HARD_LIMIT):
        outcome = await executor.run(job(tmp_path), output)
    assert outcome.succeeded, f"{outcome.error_reason}\n{output.text}"
    assert leftovers(kubesim) == []


async def test_a_log_that_cannot_be_read_is_said_and_the_gathering_goes_on(
    kubesim: Cluster, tmp_path: Path
) -> None:
    # as oc: the log is for people; the copy is what the gathering is for
    kubesim.faults.apply_spec("api-error=403:path=/log$:user=kube:admin")
    executor = await executor_for(kubesim, tmp_path)
    output = Lines()
    async with asyncio.timeout(HARD_LIMIT):
        outcome = await executor.run(job(tmp_path), output)
    assert outcome.succeeded, f"{outcome.error_reason}\n{output.text}"
    said = [line for line in output.lines if "logs unavailable" in line or "not written" in line]
    assert len(said) == 2, output.text
    assert all("403" in line for line in said), said
    # an error answer is never printed as the pod's log, nor kept as gather.logs
    assert not [line for line in output.lines if " POD " in line], output.text
    assert not list(tmp_path.rglob("gather.logs"))
    assert leftovers(kubesim) == []


@pytest.mark.parametrize("fault", ["log_disconnect_after_bytes", "log_break_after_bytes"])
async def test_log_streams_cut_or_broken_print_each_line_once(
    kubesim: Cluster, tmp_path: Path, fault: str
) -> None:
    # each follow stream ends (cleanly, or with the connection dropped) after 1000 bytes,
    # mid-line: the image's log is a few times that
    setattr(kubesim.faults, fault, 1000)
    executor = await executor_for(kubesim, tmp_path)
    output = Lines()
    gathering = job(tmp_path)
    async with asyncio.timeout(HARD_LIMIT):
        outcome = await executor.run(gathering, output)
    assert outcome.succeeded, f"{outcome.error_reason}\n{output.text}"
    printed = [line.split(" POD ", 1)[1] for line in output.lines if " POD " in line]
    # gather.logs is read without follow, so the faults leave it whole: the reference
    [image_dir] = image_dirs(gathering.work_dir)
    whole = (image_dir / "gather.logs").read_text().splitlines()
    assert sum(len(line) + 1 for line in whole) > 2 * 1000, "too short a log to cut twice"
    assert printed == whole
    assert "unavailable" not in output.text
    assert leftovers(kubesim) == []


async def test_a_node_going_not_ready_under_a_running_pod_ends_within_the_timeout(
    kubesim: Cluster, tmp_path: Path
) -> None:
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(
        tmp_path,
        images=(NEVER_ENDS,),
        command="HEARTBEAT_SECONDS=0.2 /usr/bin/gather",
        node_name="worker-0",
        timeout=6,
    )
    output = Lines()
    task = asyncio.create_task(executor.run(gathering, output), name="gathering-under-test")
    pod = await gather_running(kubesim)
    assert pod["spec"]["nodeName"] == "worker-0"  # type: ignore[index]
    kubesim.faults.node_not_ready("worker-0")
    async with asyncio.timeout(HARD_LIMIT):
        outcome = await task
    assert not outcome.succeeded
    assert "timeout" in outcome.error_reason or "worker-0" in outcome.error_reason, (
        outcome.error_reason
    )
    assert image_dirs(gathering.work_dir), "what the pod wrote before was not copied"
    assert leftovers(kubesim) == []


async def test_faults_switched_on_mid_run_in_a_kubesim_process(tmp_path: Path) -> None:
    """The service and kubesim as separate processes; faults through POST /kubesim/faults."""
    import httpx2

    async with (
        kubesim_process(tmp_path / "kubesim") as cluster,
        service_process(
            tmp_path / "service", **service_environment(cluster, credentials="service")
        ) as service,
        httpx2.AsyncClient(
            base_url=service.url, headers={"Authorization": "Bearer admin-token"}, timeout=30
        ) as api,
    ):
        created = await api.post(
            "/must-gather",
            json={"image": LARGE, "command": "OUTPUT_BYTES=20000000 /usr/bin/gather"},
        )
        gathering_id = created.json()["id"]
        await cluster.set_faults(
            {
                "api_errors": [
                    {"status": 503, "rate": 0.5, "count": 6, "retry_after": 1},
                    {"status": 429, "count": 2, "retry_after": 1, "path": "/pods"},
                ],
                "latency_seconds": 0.02,
                "exec_cut_after_bytes": 1_000_000,
            }
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HARD_LIMIT
        while True:
            response = await api.get(f"/must-gather/{gathering_id}")
            # The service's own token check may meet the 503s too: that is a 503, never a 500.
            assert response.status_code in (200, 503), response.text
            if response.status_code == 200 and response.json()["status"] in ("completed", "error"):
                break
            assert loop.time() < deadline, response.text
            await asyncio.sleep(0.2)  # a client polling another process
        record = response.json()
        assert record["status"] == "completed", record["error-reason"]
        await cluster.clear_faults()
        await cluster.no_leftovers()
