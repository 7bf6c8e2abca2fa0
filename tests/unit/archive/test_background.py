"""Archive work runs in its own small pool of low-priority threads."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from must_gather_api.archive import background
from support.cpus import ALLOWED, BACKGROUND, as_if_reserved, two_cpus

pytestmark = pytest.mark.asyncio


def where() -> tuple[str, int]:
    thread = threading.current_thread().name
    return thread, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


async def test_work_runs_in_the_pool_at_a_lower_priority() -> None:
    name, niceness = await background.run(where)
    assert name.startswith("archive-work")
    assert niceness >= os.getpriority(os.PRIO_PROCESS, 0) + 1


async def test_at_most_the_pool_size_run_at_once() -> None:
    running, peak = 0, 0
    lock = threading.Lock()
    gate = threading.Event()

    def work() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        gate.wait(5)
        with lock:
            running -= 1

    tasks = [asyncio.ensure_future(background.run(work)) for _ in range(5)]
    while peak < background.WORKERS:
        await asyncio.sleep(0.01)  # threads starting: nothing to await on this side
    gate.set()
    await asyncio.gather(*tasks)
    assert peak == background.WORKERS


async def test_errors_reach_the_caller() -> None:
    def fail() -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        await background.run(fail)


@two_cpus
async def test_with_serving_cpus_the_pool_threads_run_on_the_background_cpus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    as_if_reserved(monkeypatch)
    seen: list[set[int]] = []

    def started() -> None:  # as the pool starts each of its threads
        background._lower_priority()
        seen.append(os.sched_getaffinity(0))

    thread = threading.Thread(target=started, name="archive-work-test")
    thread.start()
    thread.join()
    assert seen == [BACKGROUND]
    assert os.sched_getaffinity(0) == set(ALLOWED)
