"""Where background work stands among the service's threads."""

from __future__ import annotations

import os
import threading

import pytest

from must_gather_api.lifetimes import background_priority

pytestmark = pytest.mark.timeout(10)


def test_background_work_yields_the_cpu_and_the_caller_keeps_its_priority() -> None:
    before = os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0)
    seen: list[tuple[int, int]] = []

    def worker() -> None:
        background_priority(5)
        # Linux keeps both per thread: what this thread, and what it starts, runs at.
        seen.append((os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0)))

    thread = threading.Thread(target=worker, name="background-priority")
    thread.start()
    thread.join()
    [(niceness, policy)] = seen
    assert niceness == min(before[0] + 5, 19)
    assert policy == os.SCHED_IDLE
    assert (os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0)) == before
