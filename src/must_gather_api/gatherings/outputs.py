"""A gathering's growing output, kept in its own file.

The old service appended each line to the database row and rewrote the row every
time (quadratic I/O). Here lines are buffered in memory and appended to the
gathering's log file at most once per flush interval; followers of the log are woken
after each flush. ``exec-output`` in the API is the tail of that file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)


def _unchanged(text: str) -> str:
    return text


class OutputLog:
    """Append-only output of one gathering, flushed by a background task.

    Use as ``async with OutputLog(path, ...) as output:``; leaving the block flushes
    what is left and wakes every follower one last time.
    """

    def __init__(
        self,
        path: Path,
        *,
        flush_interval: float = 1.0,
        mask: Callable[[str], str] = _unchanged,
    ) -> None:
        self.path = path
        self._flush_interval = flush_interval
        self._mask = mask
        self._buffer: list[str] = []
        self._pending = asyncio.Event()
        self._flushed = asyncio.Event()
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        # The loop and an explicit flush may overlap: chunks must reach the file in order.
        self._writing = asyncio.Lock()

    def masked(self, text: str) -> str:
        """``text`` as this log would write it (tokens masked): for what is shown elsewhere."""
        return self._mask(text)

    async def __aenter__(self) -> OutputLog:
        self._task = asyncio.create_task(self._flush_loop(), name=f"output-flush:{self.path}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            # wait() does not raise the flusher's cancellation, only our own.
            await asyncio.wait([self._task])
        await asyncio.shield(self.flush())
        self._wake_followers()

    @property
    def closed(self) -> bool:
        return self._closed

    def line(self, text: str) -> None:
        """Add one line of output (a newline is added)."""
        self.write(text if text.endswith("\n") else text + "\n")

    def write(self, text: str) -> None:
        if not text:
            return
        self._buffer.append(self._mask(text))
        self._pending.set()

    async def flush(self) -> None:
        async with self._writing:
            if not self._buffer:
                return
            chunk = "".join(self._buffer)
            self._buffer.clear()
            await asyncio.to_thread(_append, self.path, chunk)
        self._wake_followers()

    async def changed(self) -> None:
        """Wait for the next flush (or the end of the output)."""
        if self._closed:
            return
        await self._flushed.wait()

    def _wake_followers(self) -> None:
        # Each waiter holds the old event; replacing it re-arms the next wait.
        flushed, self._flushed = self._flushed, asyncio.Event()
        flushed.set()

    async def _flush_loop(self) -> None:
        while True:
            await self._pending.wait()
            self._pending.clear()
            try:
                await self.flush()
            except OSError:
                log.exception("cannot write the output of %s", self.path.parent.name)
            await asyncio.sleep(self._flush_interval)


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8", errors="replace") as file:
        file.write(text)


def read_tail(path: Path, max_bytes: int) -> str:
    """The last ``max_bytes`` of a log, starting at a line boundary (blocking)."""
    if max_bytes <= 0:
        return ""
    try:
        with path.open("rb") as file:
            size = file.seek(0, 2)
            start = max(0, size - max_bytes)
            file.seek(start)
            data = file.read(max_bytes)
    except FileNotFoundError:
        return ""
    if start > 0:
        newline = data.find(b"\n")
        data = data[newline + 1 :] if newline >= 0 else data
    return data.decode("utf-8", errors="replace")


def read_tails(paths: Iterable[Path], max_bytes: int) -> list[str]:
    """Tails of many logs in one call, so a list costs one trip off the event loop."""
    return [read_tail(path, max_bytes) for path in paths]


def read_from(path: Path, offset: int, *, max_bytes: int = 1 << 20) -> bytes:
    """Up to ``max_bytes`` of a log from ``offset`` (blocking)."""
    try:
        with path.open("rb") as file:
            file.seek(offset)
            return file.read(max_bytes)
    except FileNotFoundError:
        return b""
