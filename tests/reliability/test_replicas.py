"""Several replicas on one PostgreSQL and one data directory, against one kubesim: when the
replica running a gathering is SIGKILLed, another takes the gathering over once its lease
lapses, and the record ends with an archive that matches its sha256 (or, with caller
credentials, `error` naming the lost replica) and nothing of ours left in the cluster."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from must_gather_api.gatherings.store import GatheringStore
from support.gathering_calls import (
    client_for,
    everything_settles,
    first_to_say,
    log_says,
    poll,
    post,
    says,
)
from support.processes import ServiceProcess
from support.replicas import LEASE_SECONDS, replicas_on_kubesim

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(120), pytest.mark.postgres]


@pytest.mark.parametrize("credentials", ["service", "caller"])
async def test_a_killed_replicas_gathering_is_taken_over(
    tmp_path: Path, postgres_database_url: str, credentials: str
) -> None:
    async with replicas_on_kubesim(
        tmp_path, postgres_database_url, "replica-a", "replica-b", credentials=credentials
    ) as (cluster, (a, b)):
        gathering = await post(
            a, {"command": '/bin/sh -c "sleep 6; /usr/bin/gather"', "timeout": "5m"}
        )
        await poll(a, gathering, says("created"))
        # replica-b sees it running, and leaves it alone while replica-a's lease holds.
        running = await poll(b, gathering, lambda r: r["status"] == "inprogress")
        assert running["id"] == gathering
        await asyncio.sleep(LEASE_SECONDS)  # a lease's worth of renewals by replica-a
        assert "taken over" not in b.log()

        await a.kill()
        loop = asyncio.get_running_loop()
        killed = loop.time()
        # The lease lapses within LEASE_SECONDS; replica-b looks every third of it.
        await log_says(b, f"gathering {gathering}: taken over", within=2 * LEASE_SECONDS)
        print(f"\ntaken over {loop.time() - killed:.1f}s after the kill")  # noqa: T201 - the figure the report quotes

        [record] = await everything_settles(b, [gathering])
        async with client_for(b) as api:
            logs = (await api.get(f"/must-gather/{gathering}/logs")).text
        lost = "interrupted: replica replica-a stopped renewing its lease"
        if credentials == "service":
            assert record["status"] == "completed", record["error-reason"]
            assert record["archive-size"] > 0
            assert logs.count(f"resuming ({lost}): attaching to pod") == 1, logs
        else:
            # The caller's token lived in replica-a's memory only.
            assert record["status"] == "error"
            assert record["error-reason"].startswith(lost), record["error-reason"]
            assert "resuming" not in logs
        await cluster.no_leftovers()
        assert not list((tmp_path / "shared-data" / "gatherings").glob("*/archive.partial"))


async def test_three_replicas_share_one_queue_and_one_limit(
    tmp_path: Path, postgres_database_url: str
) -> None:
    names = ("replica-a", "replica-b", "replica-c")
    async with replicas_on_kubesim(
        tmp_path,
        postgres_database_url,
        *names,
        credentials="service",
        MAX_CONCURRENT_GATHERINGS="2",
        QUEUE_POLL_INTERVAL="0.2s",
    ) as (_, services):
        # Round robin, as a balancer sends them.
        posted = [
            (
                await post(services[i % 3], {"command": '/bin/sh -c "sleep 1; /usr/bin/gather"'}),
                names[i % 3],
            )
            for i in range(8)
        ]
        ids = [gathering_id for gathering_id, _ in posted]
        records = await everything_settles(services[0], ids)
        assert [r["status"] for r in records] == ["completed"] * 8, records
        async with client_for(services[1]) as api:
            for gathering_id in ids:
                logs = (await api.get(f"/must-gather/{gathering_id}/logs")).text
                assert logs.count("pod for plug-in image") == 1, (gathering_id, logs)

    # The store's history: when each started and ended, and which replica ran it.
    store = await GatheringStore.open(postgres_database_url)
    try:
        history = [await store.get(gathering_id) for gathering_id in ids]
    finally:
        await store.close()
    events = sorted(
        [(g.started_at, 1) for g in history] + [(g.finished_at, -1) for g in history],
        key=lambda event: (event[0], event[1]),
    )
    running, most = 0, 0
    for _, change in events:
        running += change
        most = max(most, running)
    assert most <= 2, events
    started = sorted(history, key=lambda g: (g.started_at, g.id))
    assert [g.id for g in started] == ids, "not started in the order they were posted"
    elsewhere = [g.id for g, (_, name) in zip(history, posted, strict=True) if g.claimed_by != name]
    print(f"\nat most {most} at once; run by {[g.claimed_by for g in history]}")  # noqa: T201 - the figures the report quotes
    print(f"run by another replica than the one posted to: {elsewhere}")  # noqa: T201


async def test_a_delete_on_another_replica_cancels_and_its_follower_sees_every_line(
    tmp_path: Path, postgres_database_url: str
) -> None:
    async with replicas_on_kubesim(
        tmp_path,
        postgres_database_url,
        "replica-a",
        "replica-b",
        credentials="service",
        QUEUE_POLL_INTERVAL="0.2s",
    ) as (cluster, (a, b)):
        gathering = await post(
            a,
            {
                "image": "kubesim.local/must-gather-never-ends:latest",
                "command": "HEARTBEAT_SECONDS=0.2 /usr/bin/gather",
                "timeout": "5m",
            },
        )
        followed: list[str] = []

        async def follow() -> None:
            # On replica-b, which does not run it: the lines come from the shared files.
            async with (
                client_for(b) as api,
                api.stream("GET", f"/must-gather/{gathering}/logs?follow=true") as response,
            ):
                assert response.status_code == 200
                async for text in response.aiter_text():
                    followed.append(text)

        follower = asyncio.create_task(follow(), name="follower")
        try:
            running = await poll(b, gathering, says("still gathering"))
            assert running["status"] == "inprogress"
            async with client_for(b) as api:
                response = await api.delete(f"/must-gather/{gathering}")
            assert response.status_code == 200, response.text
            cancelled = response.json()
            assert (cancelled["status"], cancelled["error-reason"]) == ("error", "cancelled")
            await asyncio.wait_for(follower, 30)
        finally:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)
        async with client_for(a) as api:
            logs = (await api.get(f"/must-gather/{gathering}/logs")).text
        # Everything replica-a wrote, its last lines included, reached replica-b's follower.
        assert "".join(followed) == logs
        assert "still gathering" in logs
        assert "taken over" not in b.log()  # replica-a ran it to the end
        await cluster.no_leftovers()


async def gone(service: ServiceProcess, gathering_id: int, *, within: float = 30) -> None:
    """Until cleanup removed the record (polling another process: no event to await)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    async with client_for(service) as api:
        while (await api.get(f"/must-gather/{gathering_id}")).status_code != 404:
            assert loop.time() < deadline, f"gathering {gathering_id} was never cleaned up"
            await asyncio.sleep(0.1)


async def test_only_the_leader_cleans_up_and_another_leads_once_it_is_killed(
    tmp_path: Path, postgres_database_url: str
) -> None:
    leads = "now leads the housekeeping"
    async with replicas_on_kubesim(
        tmp_path,
        postgres_database_url,
        "replica-a",
        "replica-b",
        credentials="service",
        CLEANUP_MAX_AGE="1s",
        CLEANUP_INTERVAL="0.5s",
    ) as (cluster, (a, b)):
        # They start at once: either may lead, and the other must not.
        leader = await first_to_say([a, b], leads)
        other = b if leader is a else a
        first = await post(other, {"command": "/usr/bin/gather"})
        await gone(other, first)
        removed = "cleanup removed 1 expired gatherings"
        assert removed in leader.log()
        assert leads not in other.log()
        assert "cleanup removed" not in other.log()

        await leader.kill()
        await log_says(other, leads, within=2 * LEASE_SECONDS)
        second = await post(other, {"command": "/usr/bin/gather"})
        await gone(other, second)
        assert removed in other.log()
        await cluster.no_leftovers()


async def test_a_stopped_replica_hands_its_gathering_over_at_once(
    tmp_path: Path, postgres_database_url: str
) -> None:
    async with replicas_on_kubesim(
        tmp_path,
        postgres_database_url,
        "replica-a",
        "replica-b",
        credentials="service",
        SHUTDOWN_GRACE_PERIOD="1s",
    ) as (cluster, (a, b)):
        gathering = await post(
            a, {"command": '/bin/sh -c "sleep 8; /usr/bin/gather"', "timeout": "5m"}
        )
        await poll(a, gathering, says("created"))
        # A rolling update: SIGTERM, and the gathering outlives the grace period.
        # uvicorn re-raises the SIGTERM it handled once its shutdown is complete.
        assert await a.terminate() in (0, -15), a.log()
        assert "Application shutdown complete" in a.log()
        assert f"gathering {gathering} left to another replica" in a.log()
        # Its lease was ended, not left to lapse: taken over at replica-b's next round
        # (every third of the lease), well within one lease.
        await log_says(b, f"gathering {gathering}: taken over", within=LEASE_SECONDS)
        [record] = await everything_settles(b, [gathering])
        async with client_for(b) as api:
            logs = (await api.get(f"/must-gather/{gathering}/logs")).text
        assert record["status"] == "completed", record["error-reason"]
        # The pod replica-a made was kept and resumed, not made again.
        assert logs.count("attaching to pod") == 1, logs
        assert logs.count("pod for plug-in image") == 1, logs
        await cluster.no_leftovers()
