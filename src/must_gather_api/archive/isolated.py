"""Running untrusted archive work where it can be stopped: a worker process per job.

A pod's tar stream and an image's own archive are hostile by assumption. Reading them in a
thread of this process, as before, meant a stream that made the reader spin held a thread
for good (threads cannot be cancelled) and grew this process's memory. Here each job runs
in ``python -m must_gather_api.archive.worker``: an address-space cap (``MEMORY_BYTES``),
a CPU-time cap and a wall-clock deadline, after which, or on cancellation, it is killed.
At most ``WORKERS`` run at once per event loop (the rest wait, cancellably), at a lower
CPU priority, so the event loop that answers requests is scheduled first. A gathering
``prepare``s one while its pod still gathers, so that its one pass starts from a worker
that has done its imports (``spares``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import weakref
from typing import Any

from must_gather_api import spares
from must_gather_api.spares import Command

log = logging.getLogger(__name__)

WORKERS = 2
MEMORY_BYTES = 384 << 20
MIN_SECONDS = 5.0
_STDERR_LOGGED = 2000

# Its address space is capped: glibc's malloc reserves 64 MiB of it for each arena it adds
# for another thread (the packer's compressors), two are enough.
COMMAND = Command("must_gather_api.archive.worker", environment=(("MALLOC_ARENA_MAX", "2"),))

_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


class WorkerFailed(Exception):
    """The job did not succeed; ``kind`` says how, ``message`` says it in words.

    Kinds: too-large, too-many-entries, not-tar, memory, disk (from the job), and
    deadline, stopped (the worker was killed or died).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def prepare() -> None:
    """A worker made ready for a job to come (when the service keeps spares)."""
    spares.prepare(COMMAND)


def _slot() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slot = _slots.get(loop)
    if slot is None:
        slot = _slots[loop] = asyncio.Semaphore(WORKERS)
    return slot


async def run(request: dict[str, Any], *, deadline: float) -> dict[str, Any]:
    """The job's result; WorkerFailed otherwise. ``deadline`` is a ``time.monotonic`` time
    (at least ``MIN_SECONDS`` are given, so a late job still gets a chance)."""
    async with _slot():
        seconds = max(deadline - time.monotonic(), MIN_SECONDS)
        body = json.dumps(
            {
                **request,
                "parent": os.getpid(),
                "memory_bytes": MEMORY_BYTES,
                "cpu_seconds": int(seconds) + 1,
            }
        ).encode()
        process = await spares.start(COMMAND)
        try:
            async with asyncio.timeout(seconds):
                stdout, stderr = await process.communicate(body)
        except TimeoutError:
            raise WorkerFailed(
                "deadline", f"it did not finish within {seconds:.0f}s and was stopped"
            ) from None
        finally:
            if process.returncode is None:
                process.kill()
                await asyncio.shield(spares.reaped(process))
    return _result(process.returncode, stdout, stderr)


def _result(returncode: int | None, stdout: bytes, stderr: bytes) -> dict[str, Any]:
    try:
        reply = json.loads(stdout) if stdout else None
    except ValueError:
        reply = None
    # A reply is the worker's last act, so it stands whatever exit status is reported (a
    # status another reaper took reads as 255).
    if not isinstance(reply, dict):
        log.warning(
            "the archive worker ended with %s: %s",
            returncode,
            stderr[-_STDERR_LOGGED:].decode("utf-8", "replace"),
        )
        raise WorkerFailed(
            "stopped", "it was stopped: it used more CPU time or memory than allowed"
        )
    if not reply.get("ok"):
        raise WorkerFailed(str(reply.get("kind")), str(reply.get("message")))
    result: dict[str, Any] = reply["result"]
    return result
