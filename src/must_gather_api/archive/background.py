"""Where the heavy archive work runs: unpacking a pod's tar stream and packing the archive.

Both are long and CPU-bound (tarfile, isal, sha256, page-cache copies). In the default
executor, four gatherings finishing at once put eight busy threads beside the event loop on
a small machine, and every request waited behind them (p99 of a poll grew 15-fold). Here
they run in a pool of their own: at most ``WORKERS`` at once (the rest queue in order), in
threads whose CPU priority is lowered (Linux schedules each thread on its own), so the
event loop, which answers requests, is scheduled first. Archives take as much CPU time as
before; they just yield it when a request needs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from must_gather_api import cpus

WORKERS = 2
NICENESS = 10

_P = ParamSpec("_P")
_T = TypeVar("_T")
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _lower_priority() -> None:
    # Raising one's own niceness needs no privilege; where it is not possible (another
    # OS, a seccomp profile), the work simply runs at normal priority.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
    cpus.enter_background()  # with SERVING_CPUS, off the CPUs that answer requests


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # Idle workers hold no resources, and the pool's threads are joined at
            # interpreter exit like the default executor's.
            _pool = ThreadPoolExecutor(
                max_workers=WORKERS,
                thread_name_prefix="archive-work",
                initializer=_lower_priority,
            )
        return _pool


async def run(function: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """``asyncio.to_thread`` for archive work: in the low-priority pool, in order."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), functools.partial(function, *args, **kwargs))
