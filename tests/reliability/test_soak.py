"""One-hour soaks (``make soak``): gatherings created, polled, downloaded and deleted without
pause, with a fake executor and with the native one against kubesim; open file descriptors,
memory (RSS) and asyncio tasks sampled each minute must not grow from the second quarter of
the run to the last.
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
from collections import Counter
from pathlib import Path

import httpx2
import pytest

from kubesim.auth import ADMIN_TOKEN
from kubesim.cluster import Cluster
from must_gather_api.cli.demo import provision_service_account
from support.executors import FakeExecutor
from support.native import gone
from support.service import make_settings, served_app

SOAK_SECONDS = float(os.environ.get("MGA_SOAK_SECONDS", "3600"))
# Each minute in the hour; a shortened run (MGA_SOAK_SECONDS) still gets ten samples.
SAMPLE_EVERY = min(60.0, SOAK_SECONDS / 10)


def sample() -> tuple[int, int, int]:
    fds = len(os.listdir("/proc/self/fd"))
    with open("/proc/self/statm") as statm:
        rss_pages = int(statm.read().split()[1])
    return fds, rss_pages * resource.getpagesize(), len(asyncio.all_tasks())


@pytest.mark.soak
@pytest.mark.asyncio
@pytest.mark.timeout(int(SOAK_SECONDS) + 300)
async def test_an_hour_of_traffic_leaks_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_concurrent_gatherings=4)
    samples: list[tuple[int, int, int]] = []
    requests = 0
    # The fake remembers every job for other tests' assertions; here that memory is emptied
    # each round, so that what is sampled is the service's.
    executor = FakeExecutor()
    async with (
        served_app(settings, executor=executor) as url,
        httpx2.AsyncClient(base_url=url, timeout=30) as client,
    ):
        started = time.monotonic()
        next_sample = started
        while time.monotonic() - started < SOAK_SECONDS:
            if time.monotonic() >= next_sample:
                samples.append(sample())
                print(f"sample {len(samples)}: fds, rss, tasks = {samples[-1]}", flush=True)  # noqa: T201 - the figures the report quotes
                next_sample += SAMPLE_EVERY
            created = await client.post("/must-gather", json={"image": "fake/ok"})
            assert created.status_code == 201
            gathering_id = created.json()["id"]
            while (await client.get(f"/must-gather/{gathering_id}")).json()["status"] == "new":
                await asyncio.sleep(0.01)  # polling, as a client does
            for _ in range(100):
                record = (await client.get(f"/must-gather/{gathering_id}")).json()
                if record["status"] in ("completed", "error"):
                    break
                await asyncio.sleep(0.01)
            assert (await client.get(f"/must-gather/{gathering_id}/data")).status_code == 200
            assert (await client.get(f"/must-gather/{gathering_id}/logs")).status_code == 200
            assert (await client.delete(f"/must-gather/{gathering_id}")).status_code == 204
            requests += 6
            executor.started.clear()
            executor.jobs.clear()
            executor._started_events.clear()
    print(f"{requests} requests; samples: {samples}")  # noqa: T201 - the figures the report quotes
    assert len(samples) >= 4
    quarter = len(samples) // 4
    settled, end = samples[quarter], samples[-1]
    assert end[0] <= settled[0] + 5, f"file descriptors grew: {settled[0]} -> {end[0]}"
    assert end[1] <= settled[1] * 1.25 + 16 * 2**20, f"memory grew: {settled[1]} -> {end[1]}"
    assert end[2] <= settled[2] + 2, f"asyncio tasks grew: {settled[2]} -> {end[2]}"


@pytest.mark.soak
@pytest.mark.asyncio
@pytest.mark.timeout(int(SOAK_SECONDS) + 600)
async def test_an_hour_of_native_gatherings_against_kubesim_leaks_nothing(
    kubesim: Cluster, tmp_path: Path
) -> None:
    """The real executor for the whole run: records kept and removed by cleanup, as in a
    deployment, while a UI polls the list and a reader polls its gathering and downloads."""
    kubeconfig = provision_service_account(kubesim, tmp_path)
    settings = make_settings(
        tmp_path,
        auth="kubernetes",
        use_kubeconfig="true",
        kubeconfig=str(kubeconfig),
        cleanup_max_age="2m",
        cleanup_interval="15s",
        max_concurrent_gatherings=2,
    )
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    samples: list[tuple[int, int, int]] = []
    outcomes: Counter[str] = Counter()
    bodies = [
        {"image": "quay.io/openshift/origin-must-gather", "timeout": "5m"},
        {"command": "PLAN=prod-cold-migration /usr/bin/targeted", "custom-name": "plan:soak"},
    ]
    async with (
        served_app(settings, executor=None) as url,
        httpx2.AsyncClient(base_url=url, timeout=60, headers=admin) as client,
    ):

        async def ui() -> None:
            # The console plugin's pattern: the whole list every ten seconds (faster here).
            while True:
                assert (await client.get("/must-gather")).status_code == 200
                await asyncio.sleep(2)

        polling = asyncio.create_task(ui(), name="soak-ui-poller")
        try:
            started = time.monotonic()
            next_sample = started
            round_number = 0
            while time.monotonic() - started < SOAK_SECONDS:
                if time.monotonic() >= next_sample:
                    samples.append(sample())
                    print(f"sample {len(samples)}: fds, rss, tasks = {samples[-1]}", flush=True)  # noqa: T201 - the figures the report quotes
                    next_sample += SAMPLE_EVERY
                created = await client.post("/must-gather", json=bodies[round_number % 2])
                round_number += 1
                assert created.status_code == 201, created.text
                gathering_id = created.json()["id"]
                while (record := (await client.get(f"/must-gather/{gathering_id}")).json())[
                    "status"
                ] not in ("completed", "error"):
                    await asyncio.sleep(0.5)  # a reader's poll
                outcomes[record["status"]] += 1
                if record["status"] == "completed":
                    download = await client.get(f"/must-gather/{gathering_id}/data")
                    assert download.status_code == 200
                assert (await client.get(f"/must-gather/{gathering_id}/logs")).status_code == 200
        finally:
            polling.cancel()
            await asyncio.gather(polling, return_exceptions=True)
    print(f"{sum(outcomes.values())} gatherings {dict(outcomes)}; samples: {samples}")  # noqa: T201 - the figures the report quotes
    assert outcomes["completed"] >= 0.9 * sum(outcomes.values()), outcomes
    assert len(samples) >= 4
    quarter = len(samples) // 4
    settled, end = samples[quarter], samples[-1]
    assert end[0] <= settled[0] + 10, f"file descriptors grew: {settled[0]} -> {end[0]}"
    assert end[1] <= settled[1] * 1.25 + 32 * 2**20, f"memory grew: {settled[1]} -> {end[1]}"
    assert end[2] <= settled[2] + 5, f"asyncio tasks grew: {settled[2]} -> {end[2]}"
    assert await gone(kubesim) == []
