"""Child processes that do not outlive their parent.

A process the service starts (the archive worker) or that starts the service (granian's
worker, spawned by its main process) must end when its parent is killed: an orphaned
granian worker goes on running its gatherings while the restarted service resumes the
same ones, and the two write into one directory.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from typing import NoReturn

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None) -> None:
    """Ask Linux to SIGKILL this process when its parent thread ends (elsewhere: nothing).

    ``parent`` is the parent's pid as the caller knew it; when the parent is already gone
    (reparented before the request was made), this process ends at once.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)


def background_priority(niceness: int) -> None:
    """Makes the calling thread, and the threads and processes it starts from now on, work
    that yields the CPU to the service: ``niceness`` higher, and SCHED_IDLE where Linux
    allows it (a waking request handler then preempts it at once, where a merely nicer task
    may keep the CPU for the rest of its time slice). Neither needs privilege; where
    neither is possible the work runs at normal priority. (With SERVING_CPUS, a worker
    process is already on the background CPUs: ``spares.spawn`` put it there.)"""
    with contextlib.suppress(OSError):
        os.nice(niceness)
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def exit_at_once(status: int) -> NoReturn:
    """Ends a worker process with ``status`` once stdout and stderr are flushed, skipping
    the interpreter's teardown: the service waits for the worker's end, and tearing down
    the modules a copy worker imports (aiohttp, ssl) took 40 ms of the time from a
    gather's end to its archive. Only for a process whose files are closed by then."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)
