"""The gathering's output as ``oc adm must-gather`` prints it, and the files it writes for it.

Status lines (``[must-gather      ] OUT <ts> <text>``, ``[<pod>] OUT <ts> <text>``) go to the
output and to ``must-gather.logs``; the gather container's lines (``[<pod>] POD <line>``) go
to the output only, as oc does. ``timestamp`` gets one line at the start and one at the end.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from must_gather_api.executors.base import Output
from must_gather_api.executors.kubernetes.last_lines import LastLines

LOGS_FILE = "must-gather.logs"
TIMESTAMP_FILE = "timestamp"
# oc pads its own prefix to the width of a pod's, ``must-gather-xxxxx``.
_PREFIX_WIDTH = len("must-gather-xxxxx")


def now_rfc3339nano() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def go_time_now() -> str:
    """``time.Now()`` as Go's ``%v`` prints it (without the monotonic reading)."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f +0000 UTC")


class Console:
    """Writes the gathering's progress: open it as an async context, or ``open`` and ``close``."""

    def __init__(self, output: Output, work_dir: Path) -> None:
        self._output = output
        self._work_dir = work_dir
        self._file: TextIO | None = None
        self._lock = threading.Lock()
        self.last_lines = LastLines()

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
        line = f"[{source:<{_PREFIX_WIDTH}}] OUT {now_rfc3339nano()} {text}"
        self._output.line(line)
        self._log(line)

    def raw(self, text: str) -> None:
        """Text without prefix (the cluster summary), to the output and the log file."""
        for line in text.splitlines():
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
            file.write(go_time_now() + "\n")
