"""Copying a pod's data out, in a worker process of its own (``copy_worker``).

The exec stream of a large copy decodes TLS records and websocket frames for every MiB it
receives; in this process (even on a loop and thread of its own) that work held the
interpreter lock the loop answering HTTP requests needs, and four large copies made every
request wait. The worker does the whole copy (``copy_stream``: resuming cut streams,
restarting a corrupt resume, the limits) at a lower CPU priority and dies with this process.

A process per copy is stopped, and cleaned up after, on its own. Its start (about 0.3 s of
imports, mostly aiohttp) is taken off the copy's time by ``prepare``, called while the pod
still gathers: the copy then takes a spare that has done its imports (``spares``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Awaitable
from pathlib import Path

from must_gather_api import spares
from must_gather_api.executors.kubernetes import copy_wire
from must_gather_api.executors.kubernetes.calls import ClusterCalls
from must_gather_api.executors.kubernetes.copy_stream import Completeness, tar_state
from must_gather_api.executors.kubernetes.errors import CopyFailed
from must_gather_api.executors.kubernetes.pods import COPY
from must_gather_api.spares import Command

__all__ = ["Completeness", "copy_tree", "prepare", "tar_state"]

log = logging.getLogger(__name__)

WORKER = "must_gather_api.executors.kubernetes.copy_worker"
STOP_GRACE = 5.0
"""Seconds a cancelled worker has to close its websocket (ending the exec session in the
cluster) before it is killed; a killed worker's connection is closed by the kernel."""
_STDERR_LOGGED = 4000
_READ = 64 * 1024
_LINE_LIMIT = 1 << 20
"""The longest line the worker writes is an error with tar's stderr (4 KiB) in it."""


def command() -> Command:
    """The copy worker, as ``spares`` starts it."""
    # Two allocator arenas: each thread's arena reserves 64 MiB of address space, which
    # the worker's cap (copy_worker.MEMORY_BYTES) counts.
    return Command(WORKER, environment=(("MALLOC_ARENA_MAX", "2"),), line_limit=_LINE_LIMIT)


def prepare() -> None:
    """A copy worker made ready for a copy to come (when the service keeps spares)."""
    spares.prepare(command())


async def copy_tree(
    calls: ClusterCalls,
    namespace: str,
    pod: str,
    *,
    source_dir: str,
    destination: Path,
    limit: int | None,
    max_entries: int | None = None,
    max_attempts: int = 1000,
) -> int:
    """Writes the pod's complete tar stream to ``destination``; returns the attempts it took.

    CopyFailed when no complete stream could be had within the deadline (or the worker died);
    TooLarge past ``limit`` bytes or ``max_entries`` entries. A cancel stops the worker and
    returns once it has ended and its pipes are closed.
    """
    request = copy_wire.CopyRequest(
        endpoint=await calls.endpoint(),
        remaining=calls.remaining(),
        namespace=namespace,
        pod=pod,
        container=COPY,
        source_dir=source_dir,
        destination=str(destination),
        limit=limit,
        max_entries=max_entries,
        max_attempts=max_attempts,
        parent=os.getpid(),
    )
    try:
        process = await spares.start(command())
    except OSError as e:  # no process to be had (out of memory, a process limit)
        why = e.strerror or "the system refused"
        raise CopyFailed(f"the copy of pod {pod} could not be started: {why}") from e
    stderr = asyncio.ensure_future(_tail(process.stderr))
    try:
        last = await _events(process, request, calls)
        await process.wait()
    finally:
        await _uninterrupted(_stopped(process, stderr))
    if isinstance(last, copy_wire.Copied):
        return last.attempts
    if isinstance(last, copy_wire.Failed):
        raise copy_wire.error_of(last)
    log.warning(
        "the copy worker of pod %s ended with %s: %s",
        pod,
        process.returncode,
        stderr.result().decode("utf-8", "replace"),
    )
    raise CopyFailed(f"the copy of pod {pod} stopped unexpectedly: {_ended(process.returncode)}")


async def _events(
    process: asyncio.subprocess.Process, request: copy_wire.CopyRequest, calls: ClusterCalls
) -> copy_wire.Event | None:
    """Sends the request; relays retry notices until the worker's stdout ends; returns its
    last event (None when it ended without one)."""
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(request.encode())
        await process.stdin.drain()
    except (BrokenPipeError, ConnectionResetError):  # it died at once: its status says how
        pass
    finally:
        process.stdin.close()
    last: copy_wire.Event | None = None
    async for raw in process.stdout:
        event = copy_wire.parse(raw)
        if isinstance(event, copy_wire.Retried):
            calls.retried(event.what, copy_wire.RetryNotice(event.reason), event.delay)
        elif event is not None:
            last = event
    return last


def _ended(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else ""
        how = f"it was killed ({name or -returncode})"
        if -returncode == signal.SIGKILL:
            how += ", perhaps for lack of memory"
        return f"{how}; run the gathering again"
    return "its worker process failed; run the gathering again, and see the service's log"


async def _tail(stream: asyncio.StreamReader | None) -> bytes:
    """The last bytes of ``stream`` (the worker's stderr), read to its end."""
    kept = b""
    if stream is not None:
        while chunk := await stream.read(_READ):
            kept = (kept + chunk)[-_STDERR_LOGGED:]
    return kept


async def _stopped(process: asyncio.subprocess.Process, stderr: asyncio.Future[bytes]) -> None:
    """The worker ended (terminated, then killed after ``STOP_GRACE``) and its pipes read to
    their end: a pipe left paused on a full buffer never closes itself."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            async with asyncio.timeout(STOP_GRACE):
                await _drained(process)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
    await _drained(process)
    await stderr


async def _drained(process: asyncio.subprocess.Process) -> None:
    if process.stdout is not None:
        while await process.stdout.read(_READ):
            pass
    await process.wait()


async def _uninterrupted(cleanup: Awaitable[None]) -> None:
    """Awaits ``cleanup`` to its end however often the caller is cancelled meanwhile, then
    raises CancelledError if it was."""
    task = asyncio.ensure_future(cleanup)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    task.result()
    if cancelled:
        raise asyncio.CancelledError
