"""Three replicas behind nginx as a round-robin balancer (no sticky sessions), on one
PostgreSQL, one shared DATA_DIR and one kubesim, as clients reach a deployment of several
replicas: one queue and one limit hold across them, and a follower on any replica sees
every line whichever replica runs the gathering."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx2
import pytest

from must_gather_api.gatherings.records import Gathering
from must_gather_api.gatherings.store import GatheringStore
from support.balancer import balancer
from support.gathering_calls import FINISHED, Reachable, client_for, everything_settles
from support.pod_history import pod_history
from support.replicas import replicas_on_kubesim

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(150), pytest.mark.postgres]

NAMES = ("replica-a", "replica-b", "replica-c")
# Nothing is killed here: a lease long enough that a replica slowed down by a busy machine
# never loses one (a lapse is the failover tests' subject, not these).
STEADY_LEASE = "60s"
LIMIT = 4
COUNT = 30
# A few lines and one file: the shortest gathering the service runs end to end.
QUICK = {
    "image": "quay.io/openshift/origin-must-gather:latest",
    "command": "/bin/sh -c 'echo quick; mkdir -p /must-gather; echo done > /must-gather/quick'",
    # The pod's disk usage checker (oc's, 70% by default) measures the host's disk under
    # kubesim: a developer's busy disk must not end these gatherings.
    "volume-percentage": 100,
}


async def all_finish_sampling_the_running(
    api: httpx2.AsyncClient, ids: list[int], *, within: float = 120
) -> int:
    """Sample every record until all of ``ids`` ended; the most ever seen running."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    most = 0
    while True:
        listed = {g["id"]: g["status"] for g in (await api.get("/must-gather")).json()}
        running = len([i for i in ids if listed.get(i) == "inprogress"])
        assert running <= LIMIT, f"{running} running at once: {listed}"
        most = max(most, running)
        if all(listed.get(i) in FINISHED for i in ids):
            return most
        assert loop.time() < deadline, f"not all finished: {listed}"
        await asyncio.sleep(0.1)  # records in another process: polled as a client does


def most_at_once(history: list[Gathering]) -> tuple[int, list[str]]:
    """The most gatherings running at once by the store's timestamps, and at that moment
    each one's id, holder, start and end."""
    events = sorted(
        [(g.started_at, 1, g) for g in history] + [(g.finished_at, -1, g) for g in history],
        key=lambda event: (event[0], event[1]),
    )
    running: dict[int, Gathering] = {}
    most, crowd = 0, []
    for _, change, gathering in events:
        if change > 0:
            running[gathering.id] = gathering
        else:
            running.pop(gathering.id, None)
        if len(running) > most:
            most = len(running)
            crowd = [
                f"{g.id} by {g.claimed_by} {g.started_at:%T.%f}-{g.finished_at:%T.%f}"
                for g in running.values()
            ]
    return most, crowd


async def test_thirty_gatherings_run_once_each_in_order_never_more_than_the_limit(
    tmp_path: Path, postgres_database_url: str
) -> None:
    async with (
        replicas_on_kubesim(
            tmp_path,
            postgres_database_url,
            *NAMES,
            credentials="service",
            MAX_CONCURRENT_GATHERINGS=str(LIMIT),
            QUEUE_POLL_INTERVAL="0.2s",
            LEASE_DURATION=STEADY_LEASE,
        ) as (cluster, services),
        balancer(tmp_path / "nginx", services) as nginx,
        pod_history(cluster) as pods,
    ):
        async with client_for(nginx) as api:
            ids = []
            for _ in range(COUNT):
                response = await api.post("/must-gather", json=QUICK)
                assert response.status_code == 201, response.text
                ids.append(response.json()["id"])
            sampled = await all_finish_sampling_the_running(api, ids)
        records = await everything_settles(nginx, ids)
        assert [r["status"] for r in records] == ["completed"] * COUNT, records
        # Round robin: the POSTs were spread evenly, so each replica queued a third.
        posted_to = Counter(
            upstream for method, _, _, upstream in nginx.answered() if method == "POST"
        )
        assert sorted(posted_to.values()) == [COUNT // 3] * 3, posted_to
        # Each ran once: one pod per gathering, none for anything else.
        assert pods.created_per_gathering() == dict.fromkeys(ids, 1), pods.pods
        await cluster.no_leftovers()

    # The store's history: when each started and ended, and which replica ran it.
    store = await GatheringStore.open(postgres_database_url)
    try:
        history = [await store.get(gathering_id) for gathering_id in ids]
    finally:
        await store.close()
    most, crowd = most_at_once(history)
    taken_over = [line for r in services for line in r.log().splitlines() if "taken over" in line]
    assert most <= LIMIT, (crowd, taken_over)
    started = sorted(history, key=lambda g: (g.started_at, g.id))
    assert [g.id for g in started] == ids, "not started in the order they were posted"
    ran = Counter(g.claimed_by for g in history)
    print(f"\nat most {most} at once ({sampled} sampled); run by {dict(ran)}")  # noqa: T201 - the figures the report quotes


async def test_a_follower_on_every_replica_sees_every_line(
    tmp_path: Path, postgres_database_url: str
) -> None:
    lines = [f"line {n:02d}" for n in range(1, 21)]
    # printf between short sleeps: the lines reach the log over several flushes.
    script = "; ".join(f"echo '{line}'; sleep 0.05" for line in lines)
    async with (
        replicas_on_kubesim(
            tmp_path,
            postgres_database_url,
            *NAMES,
            credentials="service",
            QUEUE_POLL_INTERVAL="0.2s",
            LEASE_DURATION=STEADY_LEASE,
        ) as (cluster, services),
        balancer(tmp_path / "nginx", services) as nginx,
    ):
        body = {**QUICK, "command": f'/bin/sh -c "{script}; echo done > /must-gather/quick"'}
        async with client_for(nginx) as api:
            response = await api.post("/must-gather", json=body)
            assert response.status_code == 201, response.text
            gathering = response.json()["id"]

        async def follow(where: Reachable) -> str:
            chunks = []
            async with (
                client_for(where) as api,
                api.stream("GET", f"/must-gather/{gathering}/logs?follow=true") as response,
            ):
                assert response.status_code == 200
                async for text in response.aiter_text():
                    chunks.append(text)
            return "".join(chunks)

        # Each replica directly, and the balancer: its proxy must not hold the stream back.
        targets: list[Reachable] = [*services, nginx]
        followers = [
            asyncio.create_task(follow(where), name=f"follower-{n}")
            for n, where in enumerate(targets)
        ]
        try:
            followed = await asyncio.wait_for(asyncio.gather(*followers), 60)
        finally:
            for task in followers:
                task.cancel()
            await asyncio.gather(*followers, return_exceptions=True)
        [record] = await everything_settles(nginx, [gathering])
        assert record["status"] == "completed", record["error-reason"]
        async with client_for(services[0]) as api:
            logs = (await api.get(f"/must-gather/{gathering}/logs")).text
        positions = [logs.index(line) for line in lines]
        assert positions == sorted(positions), logs
        for where, text in zip([*NAMES, "nginx"], followed, strict=True):
            assert text == logs, where
        await cluster.no_leftovers()
