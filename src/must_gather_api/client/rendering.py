"""What the client shows: tables and details for people, JSON for scripts.

Spinners, progress bars and colour appear only when stdout is a terminal (rich also honours
NO_COLOR). Lines of gathering output are written whole, never folded at the terminal width,
so that copying them gives back what the gathering printed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from rich import progress as rich_progress
from rich.console import Console
from rich.table import Table
from rich.text import Text

from must_gather_api.client.api import Gathering
from must_gather_api.client.terminal import printable

PROGRAM = "must-gather-api"
# Without a terminal there is no width to fit: a table keeps its rows on one line each.
PIPE_WIDTH = 1000
DETAIL_KEYS = (
    "id",
    "custom-name",
    "status",
    "error-reason",
    "requested-by",
    "created-at",
    "started-at",
    "finished-at",
    "image",
    "image-stream",
    "images",
    "node-name",
    "command",
    "timeout",
    "since",
    "archive-name",
    "archive-size",
    "archive-sha256",
    "archive-removed",
)
OUTPUT_TAIL_LINES = 20


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def age(created: datetime | None, now: datetime) -> str:
    """kubectl's style: 45s, 12m, 3h, 5d."""
    if created is None:
        return "-"
    seconds = max(0, int((now - created).total_seconds()))
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length:
            return f"{seconds // length}{unit}"
    return f"{seconds}s"


def error_line(message: str) -> None:
    # Plain write: a rich console on stderr would fold a long message onto several lines.
    sys.stderr.write(f"{PROGRAM}: error: {message}\n")


def warning_line(message: str) -> None:
    sys.stderr.write(f"{PROGRAM}: warning: {message}\n")


@dataclass
class Screen:
    """The client's stdout, as a terminal or as a pipe."""

    console: Console
    json: bool

    @classmethod
    def create(cls, output: Format) -> Screen:
        console = Console(highlight=False)
        if not console.is_terminal:
            console = Console(highlight=False, width=PIPE_WIDTH, color_system=None)
        return cls(console=console, json=output is Format.JSON)

    @property
    def interactive(self) -> bool:
        return self.console.is_terminal and not self.json

    def line(self, text: str, *, style: str = "") -> None:
        # Lines may carry a gathering's output, written by the image: never raw to a terminal.
        self.console.print(
            Text(printable(text), style=style), soft_wrap=True, markup=False, highlight=False
        )

    def data(self, value: Any) -> None:
        sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def table(self, gatherings: list[Gathering], *, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
        for column in ("ID", "CUSTOM-NAME", "STATUS", "AGE", "SIZE"):
            table.add_column(column, no_wrap=True, justify="right" if column == "SIZE" else "left")
        for gathering in gatherings:
            table.add_row(
                str(gathering.id),
                gathering.custom_name or "-",
                Text(gathering.status, style=status_style(gathering.status)),
                age(gathering.created_at, now),
                human_size(gathering.archive_size) if gathering.archive_size else "-",
            )
        self.console.print(table)

    def details(self, gathering: Gathering) -> None:
        width = max(len(key) for key in DETAIL_KEYS) + 1
        for key in DETAIL_KEYS:
            value = gathering.raw.get(key)
            if value in (None, "", [], 0) and key not in ("id", "status"):
                continue
            if key == "archive-size" and isinstance(value, int):
                value = f"{human_size(value)} ({value} bytes)"
            elif isinstance(value, list):
                value = ", ".join(str(item) for item in value)
            shown = Text(f"{key + ':':<{width}} ")
            shown.append(
                printable(str(value)), style=status_style(str(value)) if key == "status" else ""
            )
            self.console.print(shown, soft_wrap=True)
        tail = gathering.exec_output.splitlines()[-OUTPUT_TAIL_LINES:]
        if tail:
            self.line(f"output (last {len(tail)} lines; all: {PROGRAM} logs {gathering.id}):")
            for text in tail:
                self.line(f"  {text}")

    @contextmanager
    def waiting(self, gathering: Gathering) -> Iterator[Waiting]:
        """A spinner with the status and the elapsed time, below the output as it comes."""
        if not self.interactive:
            yield Waiting(self, None, rich_progress.TaskID(0))
            return
        display = rich_progress.Progress(
            rich_progress.SpinnerColumn(),
            rich_progress.TextColumn("{task.description}"),
            rich_progress.TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        with display:
            task = display.add_task(describe(gathering), total=None)
            yield Waiting(self, display, task)

    @contextmanager
    def downloading(self, name: str) -> Iterator[DownloadBar | None]:
        """A progress bar with size and speed, on a terminal, once bytes come; None elsewhere."""
        if not self.interactive:
            yield None
            return
        bar = DownloadBar(self.console, name)
        try:
            yield bar
        finally:
            bar.stop()


def status_style(status: str) -> str:
    return {"completed": "green", "error": "red", "inprogress": "cyan"}.get(status, "")


def describe(gathering: Gathering) -> str:
    words = {"new": "queued", "inprogress": "running"}
    return f"gathering {gathering.id} {words.get(gathering.status, gathering.status)}"


@dataclass
class Waiting:
    screen: Screen
    display: rich_progress.Progress | None
    task: rich_progress.TaskID

    def line(self, text: str) -> None:
        if self.screen.json:
            return
        # Through the progress display's console, so the spinner stays below the lines.
        self.screen.line(text)

    def status(self, gathering: Gathering) -> None:
        if self.display is not None:
            self.display.update(self.task, description=describe(gathering))


_BAR_WIDTH = 24
# The size, speed and time left columns with their gaps, beside the bar.
_OTHER_COLUMNS = _BAR_WIDTH + 44
_MIN_NAME = 12


def middle_ellipsis(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, its middle replaced by an ellipsis."""
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    tail = width - 1 - head
    return f"{text[:head]}…{text[len(text) - tail :]}"


class DownloadBar:
    """Shown from the first response on, so that a refusal comes without an empty bar."""

    def __init__(self, console: Console, name: str) -> None:
        self.display = rich_progress.Progress(
            rich_progress.TextColumn("{task.description}"),
            rich_progress.BarColumn(bar_width=_BAR_WIDTH),
            rich_progress.DownloadColumn(binary_units=True),
            rich_progress.TransferSpeedColumn(),
            rich_progress.TimeRemainingColumn(),
            console=console,
        )
        # One line whatever the name's length (a core's ID is ~70 characters): the middle
        # goes, the start and the end (the program, the pid and time) stay.
        fitted = middle_ellipsis(name, max(_MIN_NAME, console.width - _OTHER_COLUMNS))
        self.task = self.display.add_task(fitted, total=None, start=False)
        self.shown = False

    def start(self, *, total: int | None, completed: int) -> None:
        if not self.shown:
            self.display.start()
            self.display.start_task(self.task)
            self.shown = True
        self.display.update(self.task, total=total, completed=completed)

    def advance(self, count: int) -> None:
        self.display.advance(self.task, count)

    def stop(self) -> None:
        if self.shown:
            self.display.stop()
