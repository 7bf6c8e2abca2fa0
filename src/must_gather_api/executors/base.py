"""The interface between the runner and whatever carries a gathering out.

The runner owns the record, the queue, the time limit, the output log and the
archive; an executor only gathers: it writes the gathered tree into ``job.work_dir``,
prints progress to ``output``, and returns an ``Outcome``. It is cancelled (an
``asyncio.CancelledError`` raised inside ``run``) on timeout, on DELETE and at
shutdown, and must clean up what it created in the cluster before it re-raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from must_gather_api.parameters import GatheringOptions


class Output(Protocol):
    """Where an executor prints what a person should see in the gathering's output."""

    def line(self, text: str) -> None: ...


@dataclass(frozen=True)
class Credentials:
    """The bearer token a gathering runs with, held in memory for that gathering only.

    ``repr`` never shows the token, so it cannot reach a log by accident.
    """

    token: str = ""
    user: str = ""

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, token={'<hidden>' if self.token else '<none>'})"

    __str__ = __repr__


@dataclass(frozen=True)
class Job:
    """One gathering as an executor sees it: its validated, typed options, no strings to
    parse; ``timeout`` is the gathering's own (the runner adds the copy margin around it)."""

    gathering_id: int
    work_dir: Path
    timeout: timedelta
    options: GatheringOptions = field(default_factory=GatheringOptions)
    credentials: Credentials | None = None


@dataclass(frozen=True)
class Outcome:
    """How a gathering went. ``error_reason`` empty means it completed."""

    error_reason: str = ""

    @property
    def succeeded(self) -> bool:
        return not self.error_reason


class Executor(Protocol):
    async def run(self, job: Job, output: Output) -> Outcome:
        """Gather into ``job.work_dir``; raise nothing but CancelledError."""
        ...

    async def recover(self, job: Job, output: Output) -> Outcome | None:
        """Resume a gathering a previous process left running, or None if it cannot."""
        ...
