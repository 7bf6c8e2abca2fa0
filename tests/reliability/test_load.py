"""Load: 200 concurrent pollers and 20 concurrent POSTs with MAX_CONCURRENT_GATHERINGS=4,
over real HTTP (uvicorn on loopback, the fake executor). All 20 finish, in FIFO order, at
most 4 at once, no 5xx; the poll latency p99 is printed, not asserted.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx2
import pytest

from support.executors import FakeExecutor
from support.service import make_settings, served_app

# Not traced for coverage: the tracer slows this one loop, which serves and polls alike,
# three to four times (on a 2-core VM 90 to 150 s and polls up to 27 s late, against 35 s),
# so the test measured the tracer and came near its 30 s steps. The code it runs is
# covered by the other tests. The timeout is a guard against a hang; each step has 30 s.
pytestmark = [pytest.mark.asyncio, pytest.mark.no_cover, pytest.mark.timeout(120)]

POSTS = 20
POLLERS = 200


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def test_200_pollers_and_20_posts_with_4_at_a_time(tmp_path: Path) -> None:
    executor = FakeExecutor()
    settings = make_settings(tmp_path, max_concurrent_gatherings=4)
    statuses: list[int] = []
    latencies: list[float] = []
    async with (
        served_app(settings, executor=executor) as url,
        httpx2.AsyncClient(
            base_url=url, timeout=30, limits=httpx2.Limits(max_connections=POLLERS + POSTS)
        ) as client,
    ):
        posted = await asyncio.gather(
            *(
                client.post("/must-gather", json={"image": "fake/block", "custom-name": f"n{i}"})
                for i in range(POSTS)
            )
        )
        assert [r.status_code for r in posted] == [201] * POSTS
        ids = sorted(r.json()["id"] for r in posted)
        all_done = asyncio.Event()

        async def poller(index: int) -> None:
            target = ids[index % POSTS]
            while not all_done.is_set():
                started = time.perf_counter()
                response = await client.get(f"/must-gather/{target}")
                latencies.append(time.perf_counter() - started)
                statuses.append(response.status_code)
                await asyncio.sleep(0.05)  # a poll interval, as the UIs have

        pollers = [asyncio.create_task(poller(i), name=f"poller-{i}") for i in range(POLLERS)]
        try:
            # The first 4 start at once; then each release frees one worker, which must take
            # the oldest queued gathering.
            async with asyncio.timeout(30):
                for gathering_id in ids[:4]:
                    await executor.wait_started(gathering_id)
            for done, following in zip(ids, ids[4:], strict=False):
                executor.release(done)
                async with asyncio.timeout(30):
                    await executor.wait_started(following)
                assert executor.started[-1] == following, "not first in, first out"
            for gathering_id in ids[-4:]:
                executor.release(gathering_id)
            async with asyncio.timeout(30):
                while True:
                    listed = (await client.get("/must-gather", params={"limit": 100})).json()
                    if all(g["status"] == "completed" for g in listed):
                        break
                    await asyncio.sleep(0.05)
        finally:
            all_done.set()
            await asyncio.gather(*pollers)
    assert sorted(executor.started[:4]) == ids[:4]
    assert executor.started[4:] == ids[4:], "not first in, first out"
    assert executor.peak == 4
    assert statuses and all(status == 200 for status in statuses), set(statuses)
    print(  # noqa: T201 - the figures the report quotes
        f"\n{len(statuses)} polls by {POLLERS} pollers beside {POSTS} POSTs: "
        f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms"
    )
