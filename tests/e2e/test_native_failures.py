"""The native executor when things go wrong: every failure says what, and nothing is left."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from kubesim import kinds
from kubesim.auth import ADMIN
from kubesim.cluster import Cluster
from must_gather_api.errors import FailureKind
from support.native import (
    Lines,
    clients_made,
    closed,
    executor_for,
    image_dirs,
    job,
    leftovers,
)

pytestmark = pytest.mark.timeout(120)

UNPULLABLE = "kubesim.local/must-gather-unpullable:latest"
FAILS = "kubesim.local/must-gather-fails-halfway:latest"
NEVER_ENDS = "kubesim.local/must-gather-never-ends:latest"


def inspected(work_dir: Path) -> list[Path]:
    return sorted(work_dir.glob("inspect.local.*"))


async def pod_running(cluster: Cluster) -> None:
    """Until a pod of ours has its gather container running (a watch, not a sleep)."""

    def running(pod: dict[str, Any]) -> bool:
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        return any(s["name"] == "gather" and "running" in s["state"] for s in statuses)

    async with asyncio.timeout(30), cluster.store.watch(kinds.PODS) as watch:
        if any(running(p) for p in cluster.store.list(kinds.PODS)):
            return
        async for _, pod in watch:
            if running(pod):
                return


@pytest.mark.asyncio
async def test_an_unpullable_image_names_the_image_and_falls_back(
    kubesim: Cluster, tmp_path: Path
) -> None:
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path, images=(UNPULLABLE,))
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert f"unable to pull image {UNPULLABLE}: ErrImagePull" in outcome.error_reason
    assert "fallback inspect ran" in outcome.error_reason
    [inspect] = inspected(gathering.work_dir)
    assert (inspect / "cluster-scoped-resources/config.openshift.io/clusteroperators").is_dir()
    secrets = inspect / "namespaces/openshift-cluster-version/core/secrets.yaml"
    assert secrets.is_file()
    assert leftovers(kubesim) == []


@pytest.mark.asyncio
async def test_a_node_that_never_runs_the_pod_is_named_and_falls_back(
    kubesim: Cluster, tmp_path: Path
) -> None:
    kubesim.faults.node_not_ready("worker-0")
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path, node_name="worker-0", timeout=3)
    outcome = await executor.run(gathering, Lines())
    assert "gather did not start" in outcome.error_reason
    assert "worker-0" in outcome.error_reason
    assert inspected(gathering.work_dir)
    assert leftovers(kubesim) == []


@pytest.mark.asyncio
async def test_an_unknown_node_name_is_refused_and_falls_back(
    kubesim: Cluster, tmp_path: Path
) -> None:
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path, node_name="no-such-node")
    outcome = await executor.run(gathering, Lines())
    assert "node 'no-such-node' does not exist" in outcome.error_reason
    assert inspected(gathering.work_dir)
    assert leftovers(kubesim) == []


@pytest.mark.asyncio
async def test_gather_exit_1_is_reported_and_its_data_kept(
    kubesim: Cluster, tmp_path: Path
) -> None:
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path, images=(FAILS,))
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert "exit code: 1" in outcome.error_reason, output.text
    assert "its last error line: error: simulated failure half-way" in outcome.error_reason
    [image_dir] = image_dirs(gathering.work_dir)
    assert (image_dir / "version").is_file() and (image_dir / "partial.log").is_file()
    assert inspected(gathering.work_dir)
    assert leftovers(kubesim) == []


@pytest.mark.asyncio
async def test_a_gather_that_never_ends_times_out(kubesim: Cluster, tmp_path: Path) -> None:
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(
        tmp_path, images=(NEVER_ENDS,), command="HEARTBEAT_SECONDS=0.2 /usr/bin/gather", timeout=4
    )
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert "did not finish before the timeout" in outcome.error_reason
    assert "still gathering" in output.text
    assert image_dirs(gathering.work_dir)  # what it wrote so far was copied
    assert leftovers(kubesim) == []


@pytest.mark.asyncio
async def test_cancel_mid_run_deletes_the_namespace_then_closes_the_clients(
    kubesim: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    executor = await executor_for(kubesim, tmp_path)
    made = clients_made(executor, monkeypatch)
    gathering = job(tmp_path, images=(NEVER_ENDS,))
    task = asyncio.create_task(executor.run(gathering, Lines()), name="gathering-under-test")
    await pod_running(kubesim)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert leftovers(kubesim) == []
    assert len(made) == 1 and closed(made[0])


@pytest.mark.asyncio
async def test_a_run_that_ends_before_its_pods_closes_its_clients(
    kubesim: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubesim.users.add("caller-token", ADMIN)
    executor = await executor_for(kubesim, tmp_path, gather_credentials="caller")
    made = clients_made(executor, monkeypatch)
    output = Lines()
    outcome = await executor.run(
        job(tmp_path, node_name="no-such-node", token="caller-token"), output
    )
    assert [failure.kind for failure in outcome.failures] == [FailureKind.REFUSED]
    assert leftovers(kubesim) == []
    # The caller's client, then the service's own for the cleanup: both closed.
    assert len(made) == 2 and all(closed(api) for api in made), output.text


@pytest.mark.asyncio
async def test_a_cut_exec_stream_is_resumed_until_the_archive_is_complete(
    kubesim: Cluster, tmp_path: Path
) -> None:
    kubesim.faults.exec_cut_after_bytes = 64 * 1024
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path)
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert outcome.succeeded, outcome.error_reason
    assert "the copy stream was cut; completed in" in output.text
    [image_dir] = image_dirs(gathering.work_dir)
    assert (image_dir / "version").is_file()
    etcd = image_dir / "namespaces/openshift-etcd/pods/etcd-master-0/etcd/etcd/logs/current.log"
    assert etcd.is_file()
    assert leftovers(kubesim) == []


@pytest.mark.asyncio
async def test_api_503_bursts_are_retried(kubesim: Cluster, tmp_path: Path) -> None:
    kubesim.faults.apply_spec("api-error=503:rate=0.3:count=12")
    kubesim.faults.apply_spec("api-error=429:count=2:retry-after=1:path=/namespaces$")
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path)
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert outcome.succeeded, f"{outcome.error_reason}\n{output.text}"
    _, throttles = kubesim.faults.api_errors
    # Both 429s were served (and so retried), waiting the second Retry-After asked each time.
    assert throttles.count == 0
    retried_throttles = [
        line for line in output.lines if "retrying in" in line and "namespace" in line
    ]
    assert len(retried_throttles) >= 2, output.text
    assert leftovers(kubesim) == []


@pytest.mark.asyncio
async def test_a_token_revoked_mid_run_is_reported_and_cleaned_up(
    kubesim: Cluster, tmp_path: Path
) -> None:
    kubesim.users.add("caller-token", ADMIN)
    executor = await executor_for(kubesim, tmp_path, gather_credentials="caller")
    gathering = job(tmp_path, images=(NEVER_ENDS,), token="caller-token", timeout=30)
    output = Lines()
    task = asyncio.create_task(executor.run(gathering, output), name="gathering-under-test")
    await pod_running(kubesim)
    kubesim.users.revoke("caller-token")
    outcome = await task
    assert "no longer accepts the credentials" in outcome.error_reason, output.text
    assert "using the service's account" in output.text
    assert leftovers(kubesim) == []
