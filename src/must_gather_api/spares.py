"""Worker processes started before they are needed.

A worker process (the copy worker, the archive worker) spends its first tenth to third of a
second starting the interpreter and importing its modules (``python -X importtime``: 0.1 s
for the archive worker, 0.3 s for the copy worker, most of it aiohttp). Started when its
job begins, that time fell between a gather's end and the archive being ready, where it was
a third of the time a 100 MiB gathering took. So a gathering asks for its workers while
its pod is still gathering (``prepare``), and takes them when the job comes (``start``).

A spare has read nothing yet: its request, and the token in it, reach it only when it is
handed a job, and until then it sits in its first read of stdin. It confines itself (its
priority, its caps, death with its parent) when the request arrives, as a fresh worker
does; a spare whose parent ends sees its stdin end and exits.

Spares are kept only inside ``keeping()`` (the service's lifespan), which kills and reaps
those left at its end; elsewhere ``prepare`` does nothing and ``start`` starts a fresh
process, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass

from must_gather_api import cpus

log = logging.getLogger(__name__)

KEPT = 4
"""Spares kept at most for each command: one per pod copied at once (``CONCURRENT_PODS``)."""
_READ = 64 * 1024


@dataclass(frozen=True)
class Command:
    """``python -m module`` with three pipes."""

    module: str
    environment: tuple[tuple[str, str], ...] = ()  # over this process's environment
    line_limit: int = 64 * 1024  # the longest line its stdout may be read by


async def spawn(command: Command) -> asyncio.subprocess.Process:
    """A fresh process of ``command``; OSError when the system refuses one. With
    SERVING_CPUS it runs on the background CPUs from its start: its imports (a few hundred
    milliseconds of CPU) would otherwise take them from the serving CPUs it inherits."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        command.module,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=command.line_limit,
        env={**os.environ, **dict(command.environment)} if command.environment else None,
    )
    # Still single-threaded, a moment into its start: what it starts inherits the CPUs.
    cpus.move_to_background(process.pid)
    return process


async def reaped(process: asyncio.subprocess.Process) -> None:
    """Waits for ``process`` to end, reading its pipes to their end: a pipe left paused on a
    full buffer never closes itself."""
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            while await stream.read(_READ):
                pass
    await process.wait()


class Spares:
    """The spares of one event loop."""

    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self.ready: dict[Command, list[asyncio.subprocess.Process]] = {}
        self.starting: dict[Command, set[asyncio.Task[None]]] = {}
        self.reaping: set[asyncio.Task[None]] = set()
        self.closed = False

    def prepare(self, command: Command) -> None:
        waiting = len(self.ready.get(command, ())) + len(self.starting.get(command, ()))
        if self.closed or waiting >= self.kept:
            return
        task = asyncio.create_task(self._started(command), name=f"spare {command.module}")
        tasks = self.starting.setdefault(command, set())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _started(self, command: Command) -> None:
        try:
            process = await spawn(command)
        except OSError as e:  # the job will start its own, or say why it cannot
            log.warning("a spare %s could not be started: %s", command.module, e)
            return
        except Exception:  # a bug: logged here, since close() only waits for the task
            log.exception("starting a spare %s failed", command.module)
            return
        if self.closed:
            await _killed(process)
        else:
            self.ready.setdefault(command, []).append(process)

    def take(self, command: Command) -> asyncio.subprocess.Process | None:
        """A spare still waiting for its request; None when there is none."""
        ready = self.ready.get(command, [])
        while ready:
            process = ready.pop(0)
            if process.returncode is None:
                return process
            # It ended on its own (killed for memory, say): its pipes still want closing.
            self._reap_later(process)
        return None

    def _reap_later(self, process: asyncio.subprocess.Process) -> None:
        task = asyncio.create_task(reaped(process), name="reap an ended spare")
        self.reaping.add(task)
        task.add_done_callback(self.reaping.discard)

    async def close(self) -> None:
        """Kills and reaps every spare, once those being started have started."""
        self.closed = True
        for tasks in [*self.starting.values(), self.reaping]:
            for task in list(tasks):
                with contextlib.suppress(Exception):
                    await task
        for processes in self.ready.values():
            for process in processes:
                await _killed(process)
        self.ready.clear()


async def _killed(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    await reaped(process)


_kept: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Spares] = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def keeping(kept: int = KEPT) -> AsyncIterator[Spares]:
    """Spares are kept for this event loop until the block ends; a block within another
    keeps its own, and the outer one's are kept again after it."""
    loop = asyncio.get_running_loop()
    outer = _kept.get(loop)
    spares = _kept[loop] = Spares(kept)
    try:
        yield spares
    finally:
        if _kept.get(loop) is spares:
            if outer is not None:
                _kept[loop] = outer
            else:
                del _kept[loop]
        await spares.close()


def prepare(command: Command) -> None:
    """Starts a spare of ``command`` in the background, when spares are kept here and fewer
    than their number wait."""
    spares = _kept.get(asyncio.get_running_loop())
    if spares is not None:
        spares.prepare(command)


async def start(command: Command) -> asyncio.subprocess.Process:
    """A spare of ``command`` if one waits, a fresh process otherwise (OSError when the
    system refuses one)."""
    spares = _kept.get(asyncio.get_running_loop())
    process = spares.take(command) if spares is not None else None
    return process if process is not None else await spawn(command)
