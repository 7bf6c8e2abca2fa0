"""The gathering's output as ``oc adm must-gather`` prints it, and the files it writes for it.

Status lines (``[must-gather      ] OUT <ts> <text>``, ``[<pod>] OUT <ts> <text>``) go to the
output and to ``must-gather.logs``; the gather container's lines (``[<pod>] POD <line>``) go
to the output only, as oc does. ``timestamp`` gets one line at the start and one at the end.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from must_gather_api.executors.base import Output
from must_gather_api.executors.kubernetes.last_lines import LastLines

LOGS_FILE = "must-gather.logs"
TIMESTAMP_FILE = "timestamp"
# oc pads its own prefix to the width of a pod's, ``must-gather-xxxxx``.
_PREFIX_WIDTH = len("must-gather-xxxxx")


def _go_fraction(nanoseconds: int, *, keep: bool = False) -> str:
    """Go's ``.999999999``: the nanoseconds without trailing zeros, none when zero (or
    ``.0`` with ``keep``, for must-gather-parser, whose pattern needs a fraction)."""
    digits = f"{nanoseconds:09d}".rstrip("0")
    return f".{digits}" if digits else (".0" if keep else "")


def status_line(text: str, *, source: str = "must-gather") -> str:
    """A status line as oc prints it: the source padded, ``OUT``, the time."""
    return f"[{source:<{_PREFIX_WIDTH}}] OUT {now_rfc3339nano()} {text}"


def now_rfc3339nano() -> str:
    """``time.Now().UTC().Format(time.RFC3339Nano)``, as oc stamps its status lines."""
    wall = time.time_ns()
    seconds, nanoseconds = divmod(wall, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}{_go_fraction(nanoseconds)}Z"


def go_time_now(started: int | None = None) -> str:
    """``time.Now()`` as Go's ``%v`` prints it, in UTC; ``started`` (a ``time.monotonic_ns()``
    reading) adds Go's monotonic reading ``m=+<seconds>``, which counts from oc's start:
    here from the gathering's."""
    wall = time.time_ns()
    seconds, nanoseconds = divmod(wall, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")
    text = f"{stamp}{_go_fraction(nanoseconds, keep=True)} +0000 UTC"
    if started is not None:
        elapsed = max(0, time.monotonic_ns() - started)
        whole, fraction = divmod(elapsed, 1_000_000_000)
        text += f" m=+{whole}.{fraction:09d}"
    return text


class Console:
    """Writes the gathering's progress: open it as an async context, or ``open`` and ``close``."""

    def __init__(self, output: Output, work_dir: Path) -> None:
        self._output = output
        self._work_dir = work_dir
        self._file: TextIO | None = None
        self._lock = threading.Lock()
        self.last_lines = LastLines()
        self.started = time.monotonic_ns()

    def open(self) -> None:
        """Blocking: creates the work dir and ``must-gather.logs``."""
        self._work_dir.mkdir(parents=True, exist_ok=True)
        self._file = (self._work_dir / LOGS_FILE).open("a", encoding="utf-8", errors="replace")

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    async def __aenter__(self) -> Console:
        await asyncio.to_thread(self.open)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.close()

    def out(self, text: str, *, source: str = "must-gather") -> None:
        """A status line, from oc itself or about one pod."""
        line = status_line(text, source=source)
        self._output.line(line)
        self._log(line)

    def raw(self, text: str) -> None:
        """Text without prefix (the cluster summary), to the output and the log file; every
        ``\n`` ends a line, so blank lines are kept as oc prints them."""
        for line in text.split("\n"):
            self._output.line(line)
            self._log(line)

    def pod_line(self, pod: str, line: str) -> None:
        """A line of the gather container's log (it carries the kubelet's timestamp)."""
        self._output.line(f"[{pod}] POD {line}")
        self.last_lines.add(pod, line)

    def _log(self, line: str) -> None:
        # Lines are short and the file is local: a thread per line would cost more.
        with self._lock:
            if self._file is not None:
                self._file.write(line + "\n")
                self._file.flush()

    def stamp(self) -> None:
        """Blocking: appends the current time to ``timestamp``."""
        with (self._work_dir / TIMESTAMP_FILE).open("a", encoding="utf-8") as file:
            file.write(go_time_now(self.started) + "\n")
