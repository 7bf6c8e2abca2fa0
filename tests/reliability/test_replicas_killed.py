"""SIGKILL of one of three balanced replicas while it copies a gathering's output, while it
packs an archive, and while it leads the housekeeping: every record ends, every archive
matches its sha256, nothing of ours is left in kubesim. Each killed replica is started
again, as Kubernetes restarts a pod, so that three stay behind the balancer.

(test_replicas.py kills a replica whose gathering's pod is still running, and a leader
with nothing running.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from must_gather_api.gatherings.store import GatheringStore
from support.balancer import balancer
from support.gathering_calls import (
    FINISHED,
    everything_settles,
    file_appears,
    first_to_say,
    poll,
    post,
    says,
)
from support.processes import ServiceProcess
from support.replicas import LEASE_SECONDS, replicas_on_kubesim, shared_data

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(180), pytest.mark.postgres]

NAMES = ("replica-a", "replica-b", "replica-c")
LEADS = "now leads the housekeeping"
# The pod's disk usage checker (oc's, 70% by default) measures the host's disk under
# kubesim: a developer's busy disk must not end these gatherings.
ROOMY = {"volume-percentage": 100}
# Large enough that copying and packing each last long enough to be caught in the act.
LARGE = {
    "image": "kubesim.local/must-gather-large-output:latest",
    "command": "OUTPUT_BYTES=100000000 /usr/bin/gather",
    "timeout": "5m",
    **ROOMY,
}


async def holder(database_url: str, gathering_id: int) -> str:
    """The replica that claimed the gathering, as the shared store says."""
    store = await GatheringStore.open(database_url)
    try:
        claimed_by = (await store.get(gathering_id)).claimed_by
    finally:
        await store.close()
    assert claimed_by, f"gathering {gathering_id} is claimed by no replica"
    return claimed_by


async def kill_and_restart(service: ServiceProcess) -> None:
    await service.kill()
    await service.start()


async def test_sigkill_while_copying_while_packing_and_while_leading(
    tmp_path: Path, postgres_database_url: str
) -> None:
    async with (
        replicas_on_kubesim(
            tmp_path,
            postgres_database_url,
            *NAMES,
            credentials="service",
            QUEUE_POLL_INTERVAL="0.2s",
            # A line reaches the record within 50 ms, not 1 s: a copy of 100 MB is over in
            # a few tenths of a second.
            OUTPUT_FLUSH_INTERVAL="0.05s",
        ) as (cluster, services),
        balancer(tmp_path / "nginx", services) as nginx,
    ):
        by_name = dict(zip(NAMES, services, strict=True))
        killed: list[str] = []

        # 1. copying: the pod's output is being downloaded by its holder.
        # Its holder is looked up while the pod gathers: between seeing the copy start and
        # the kill, that lookup took about as long as the copy.
        copying = await post(nginx, LARGE)
        await poll(nginx, copying, says("created"))
        killed.append(await holder(postgres_database_url, copying))
        await poll(nginx, copying, says("downloading gather output"), interval=0.01)
        await kill_and_restart(by_name[killed[-1]])
        # Settled before the next kill: the restarted replica, resuming it, may well be the
        # one that takes the next gathering, and a second kill would interrupt this one too.
        await poll(nginx, copying, lambda r: r["status"] in FINISHED, within=90, interval=0.1)

        # 2. packing: the holder's archive is half written on the shared volume.
        packing = await post(nginx, LARGE)
        partial = shared_data(tmp_path) / "gatherings" / str(packing) / "archive.partial"
        await poll(nginx, packing, says("created"))
        killed.append(await holder(postgres_database_url, packing))
        await file_appears(partial)
        await kill_and_restart(by_name[killed[-1]])

        # 3. leading: whichever replica leads now (the first one up, or one elected after
        # a kill above), killed with a gathering running.
        running = await post(nginx, {"command": '/bin/sh -c "sleep 4; /usr/bin/gather"', **ROOMY})
        await poll(nginx, running, says("created"))
        await first_to_say(services, LEADS)
        # Each restarted replica's log is the one since its restart: one leads.
        [leader] = [s for s in services if LEADS in s.log()]
        killed.append(NAMES[services.index(leader)] + " (leader)")
        await leader.kill()
        await first_to_say(
            [s for s in services if s is not leader], LEADS, within=3 * LEASE_SECONDS
        )
        await leader.start()

        ids = [copying, packing, running]
        records = {r["id"]: r for r in await everything_settles(nginx, ids)}
        await cluster.no_leftovers()
    gatherings = shared_data(tmp_path) / "gatherings"
    assert not list(gatherings.glob("*/archive.partial"))
    assert not list(gatherings.glob("*/work"))
    assert not list(gatherings.glob("*/copy-*.tar")), "a killed copy's scratch file was left"
    print(f"\nkilled {killed}")  # noqa: T201 - the figures the report quotes
    for record in records.values():
        print(f"  {record['id']} {record['status']}: {record['error-reason']}")  # noqa: T201
    # Its pod still there, the one caught copying is downloaded again by its new holder.
    # The one caught packing lost its pod with the copy: its new holder packs what was
    # copied and ends it `error`, an archive all the same, saying it was interrupted (by
    # the replica lost last, or by a restart when the killed replica came back first).
    assert records[copying]["status"] == "completed", records[copying]
    assert "attaching to pod" in records[copying]["exec-output"], "the copy was not caught"
    assert records[packing]["status"] == "completed" or (
        records[packing]["error-reason"].startswith("interrupted")
        and records[packing]["archive-size"] > 0
    ), records[packing]
    assert records[running]["status"] == "completed", records[running]
