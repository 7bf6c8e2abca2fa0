"""Restarts: resuming a gathering an earlier process left running, tidying up what cannot be
resumed, and removing namespaces of finished or unknown gatherings."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest

from kubesim import kinds
from kubesim.cluster import Cluster
from must_gather_api.executors.base import HandOver, Job
from must_gather_api.executors.kubernetes import remove_stale_namespaces
from must_gather_api.executors.kubernetes.calls import ClusterCalls
from must_gather_api.executors.kubernetes.cluster_summary import REPRINT
from must_gather_api.executors.kubernetes.console import Console
from must_gather_api.executors.kubernetes.namespaces import create_temporary
from must_gather_api.executors.kubernetes.pods import PodOptions, pod_body
from must_gather_api.executors.kubernetes.processing import PodPlan
from support.native import ORIGIN, Lines, access_for, executor_for, image_dirs, job, leftovers

pytestmark = pytest.mark.timeout(120)

SLOW = "bash -c 'sleep 2 && /usr/bin/gather'"


async def left_running(
    cluster: Cluster, tmp_path: Path, gathering: Job, *, node_selector: dict[str, str] | None = None
) -> str:
    """What a process that died mid-gathering leaves: our namespace with a running pod (a
    pending one, with a ``node_selector`` no node matches)."""
    access = await access_for(cluster, tmp_path)
    calls = ClusterCalls(access.api_client(), request_timeout=10, deadline=time.monotonic() + 30)
    try:
        place = await create_temporary(
            calls, gathering.gathering_id, Console(Lines(), tmp_path), instance="default"
        )
        command = gathering.options.command
        options = PodOptions(
            gathering_id=gathering.gathering_id, command=command.value if command else None
        )
        body = pod_body(ORIGIN, "", options)
        if node_selector is not None:
            body["spec"]["nodeSelector"] = node_selector
        await calls.post(f"/api/v1/namespaces/{place.name}/pods", body, what="create")
    finally:
        await calls.close()
    return place.name


@pytest.mark.asyncio
async def test_service_credentials_resume_a_running_pod(kubesim: Cluster, tmp_path: Path) -> None:
    gathering = job(tmp_path, command=SLOW)
    await left_running(kubesim, tmp_path, gathering)
    executor = await executor_for(kubesim, tmp_path)
    output = Lines()
    outcome = await executor.recover(gathering, output)
    assert outcome is not None and outcome.succeeded, (outcome, output.text)
    assert "attaching to pod" in output.text
    # The earlier process printed the cluster summary's start; the resumed run its end.
    assert output.text.count(REPRINT) == 1, output.text
    [image_dir] = image_dirs(gathering.work_dir)
    assert (image_dir / "version").is_file()
    assert leftovers(kubesim) == []


@pytest.mark.asyncio
async def test_a_run_handed_over_leaves_its_pod_and_namespace_to_the_next_holder(
    kubesim: Cluster, tmp_path: Path
) -> None:
    gathering = job(tmp_path, command="bash -c 'sleep 3 && /usr/bin/gather'")
    executor = await executor_for(kubesim, tmp_path)
    first = Lines()
    run = asyncio.create_task(executor.run(gathering, first), name="handed-over-run")
    for _ in range(1000):
        if any(found.startswith("pod/") for found in leftovers(kubesim)):
            break
        await asyncio.sleep(0.01)  # kubesim's store: no event to wait on
    gathering.handover.set()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    kept = leftovers(kubesim)
    assert sum(found.startswith("pod/") for found in kept) == 1, kept
    assert sum(found.startswith("namespace/") for found in kept) == 1, kept
    assert "leaving namespace/" in first.text
    # The next holder (a job of its own) resumes the pod and removes what the run made.
    output = Lines()
    outcome = await executor.recover(replace(gathering, handover=HandOver()), output)
    assert outcome is not None and outcome.succeeded, (outcome, output.text)
    assert "attaching to pod" in output.text
    [image_dir] = image_dirs(gathering.work_dir)
    assert (image_dir / "version").is_file()
    assert leftovers(kubesim) == []


@pytest.mark.asyncio
async def test_caller_credentials_cannot_resume_and_clean_up(
    kubesim: Cluster, tmp_path: Path
) -> None:
    gathering = job(tmp_path, command=SLOW)
    await left_running(kubesim, tmp_path, gathering)
    executor = await executor_for(kubesim, tmp_path, gather_credentials="caller")
    outcome = await executor.recover(gathering, Lines())
    assert outcome is not None
    assert "cannot be resumed" in outcome.error_reason
    assert leftovers(kubesim) == []


@pytest.mark.asyncio
@pytest.mark.parametrize("pending", [True, False], ids=["pending", "running"])
async def test_a_resumed_pod_that_disappears_ends_the_gathering_at_once(
    kubesim: Cluster, tmp_path: Path, pending: bool
) -> None:
    """Whoever deletes the pod (another replica, a person), the resume ends there and says
    so, rather than waiting out the gathering's timeout."""
    gathering = job(tmp_path, command="bash -c 'sleep 30 && /usr/bin/gather'", timeout=90)
    namespace = await left_running(
        kubesim, tmp_path, gathering, node_selector={"nowhere": "true"} if pending else None
    )
    [pod] = kubesim.store.list(kinds.PODS, namespace=namespace)
    executor = await executor_for(kubesim, tmp_path)
    output = Lines()
    resumed = asyncio.create_task(executor.recover(gathering, output), name="resume")
    for _ in range(1000):
        if "attaching to pod" in output.text:
            break
        await asyncio.sleep(0.01)  # the console has no event to wait on
    kubesim.store.delete(kinds.PODS, pod["metadata"]["name"], namespace=namespace)
    # Waiting out the gathering's 90 s would fail here.
    outcome = await asyncio.wait_for(resumed, 60)
    assert outcome is not None and not outcome.succeeded
    assert "disappeared before gather" in outcome.error_reason, outcome.error_reason
    assert leftovers(kubesim) == []


@pytest.mark.asyncio
async def test_nothing_to_resume_gives_none(kubesim: Cluster, tmp_path: Path) -> None:
    executor = await executor_for(kubesim, tmp_path)
    assert await executor.recover(job(tmp_path), Lines()) is None


@pytest.mark.asyncio
async def test_stale_namespaces_are_removed_and_active_ones_kept(
    kubesim: Cluster, tmp_path: Path
) -> None:
    finished, active = job(tmp_path), job(tmp_path)
    stale_name = await left_running(kubesim, tmp_path, finished)
    active_name = await left_running(kubesim, tmp_path, active)
    access = await access_for(kubesim, tmp_path)
    async with access.api_client() as api:
        tidied = await remove_stale_namespaces(
            api, active_ids={active.gathering_id}, instance="default"
        )
    assert tidied.deleted == 1
    remaining = leftovers(kubesim)
    assert f"namespace/{active_name}" in remaining
    assert f"namespace/{stale_name}" not in remaining
    async with access.api_client() as api:
        assert (
            await remove_stale_namespaces(api, active_ids=set(), instance="default")
        ).deleted == 1
    async with asyncio.timeout(10):
        assert leftovers(kubesim) == []


@pytest.mark.asyncio
async def test_two_processes_attached_to_one_pod_each_copy_it_whole(
    kubesim: Cluster, tmp_path: Path
) -> None:
    """An earlier process that has not ended (granian's worker outliving its main process)
    and the restarted one attach to the same pod at once: each copy has a scratch file of
    its own, so neither removes the other's (the gathering ended `FileNotFoundError: ...
    copy-must-gather-....tar`)."""
    gathering = job(tmp_path, command=SLOW)
    namespace = await left_running(kubesim, tmp_path, gathering)
    [pod] = [p for p in kubesim.store.list(kinds.PODS) if p["metadata"]["namespace"] == namespace]
    executor = await executor_for(kubesim, tmp_path)
    access = await access_for(kubesim, tmp_path)
    calls = ClusterCalls(access.api_client(), request_timeout=10, deadline=time.monotonic() + 60)
    jobs = [gathering, replace(gathering, work_dir=gathering.work_dir.parent / "work-2")]
    outputs = [Lines(), Lines()]
    try:
        processors = [
            executor.processor(
                each,
                calls,
                Console(output, each.work_dir),
                namespace=namespace,
                options=PodOptions.of(each),
                delete_pods=False,
            )
            for each, output in zip(jobs, outputs, strict=True)
        ]
        plan = PodPlan(image=ORIGIN)
        await asyncio.gather(*(p.resume(pod["metadata"]["name"], plan) for p in processors))
    finally:
        await calls.close()
    for each, output in zip(jobs, outputs, strict=True):
        assert "downloaded" in output.text, output.text
        [image_dir] = image_dirs(each.work_dir)
        assert (image_dir / "version").is_file()
    assert not list(gathering.work_dir.parent.glob("copy-*.tar"))
    async with access.api_client() as api:
        await remove_stale_namespaces(api, active_ids=set(), instance="default")
    async with asyncio.timeout(10):
        assert leftovers(kubesim) == []
