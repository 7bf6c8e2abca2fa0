"""The interface between the runner and whatever carries a gathering out.

The runner owns the record, the queue, the time limit, the output log and the
archive; an executor only gathers: it writes the gathered tree into ``job.work_dir``
(or, the native executor as the service builds it, pods' raw copies recorded beside it:
``archive.raw_copies``, which finishing builds the archive from), prints progress to
``output``, and returns an ``Outcome``: data saying what went wrong (each ``Failure`` with
its ``FailureKind``), what was still gathered and what was left in the cluster. It is
cancelled (an ``asyncio.CancelledError`` raised inside ``run``) on timeout, on DELETE and
at shutdown, and must clean up what it created in the cluster before it re-raises.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from must_gather_api.errors import ExecutionFailed, FailureKind
from must_gather_api.parameters import GatheringOptions

INTERRUPTED = "interrupted by a restart"
"""The start of the reason of a gathering a restart interrupted."""


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


class NamespaceLedger(Protocol):
    """Where a gathering's temporary namespaces are written down before they are asked for
    and crossed out once deleted: a namespace the cluster keeps is never one whose name the
    service lost (a crash, an account that may not list namespaces)."""

    async def creating(self, name: str) -> None: ...

    async def removed(self, name: str) -> None: ...

    async def recorded(self) -> tuple[str, ...]: ...


class HandOver:
    """Set when a gathering is left to another replica (or to this one's next start) as
    its run is cancelled: the run then keeps what it made in the cluster, pods and
    namespace, for the next holder to resume, instead of removing it."""

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set


@dataclass(frozen=True)
class Job:
    """One gathering as an executor sees it: its validated, typed options, no strings to
    parse; ``timeout`` is the gathering's own (the runner adds the copy margin around it)."""

    gathering_id: int
    work_dir: Path
    timeout: timedelta
    options: GatheringOptions = field(default_factory=GatheringOptions)
    credentials: Credentials | None = None
    ledger: NamespaceLedger | None = None
    # How the reason of a recovered gathering begins: a restart, or the replica whose
    # lease lapsed (another replica took the gathering over).
    interruption: str = INTERRUPTED
    handover: HandOver = field(default_factory=HandOver, compare=False)


@dataclass(frozen=True)
class Failure:
    """One thing that went wrong: its kind, and the sentence a person reads."""

    kind: FailureKind
    reason: str

    @classmethod
    def of(cls, error: ExecutionFailed) -> Failure:
        return cls(kind=error.kind, reason=error.message)


@dataclass(frozen=True)
class Outcome:
    """How a gathering went, as data: nothing in ``failures`` and ``left`` means it completed.

    ``failures`` are what went wrong, in the order it happened; ``gathered`` says, in words,
    what was still gathered despite them (the fallback inspect); ``left`` is what could not
    be removed from the cluster afterwards.
    """

    failures: tuple[Failure, ...] = ()
    gathered: tuple[str, ...] = ()
    left: tuple[Failure, ...] = ()

    @classmethod
    def failed(cls, kind: FailureKind, reason: str) -> Outcome:
        return cls(failures=(Failure(kind, reason),))

    @property
    def succeeded(self) -> bool:
        return not self.failures and not self.left

    @property
    def kind(self) -> FailureKind | None:
        """The kind of the first failure (the metrics' ``failure`` label), or None."""
        first = (*self.failures, *self.left)[:1]
        return first[0].kind if first else None

    @property
    def error_reason(self) -> str:
        """The gathering's ``error-reason``: every part in order, or "" when it completed."""
        if self.succeeded:
            return ""
        parts = [
            *(failure.reason for failure in self.failures),
            *(self.gathered if self.failures else ()),
            *(failure.reason for failure in self.left),
        ]
        return "; ".join(part for part in parts if part)

    def with_failure(self, failure: Failure) -> Outcome:
        """This outcome, failed as well for ``failure`` (after what it already says)."""
        return dataclasses.replace(self, failures=(*self.failures, failure))


class Executor(Protocol):
    async def run(self, job: Job, output: Output) -> Outcome:
        """Gather into ``job.work_dir``; raise nothing but CancelledError."""
        ...

    async def recover(self, job: Job, output: Output) -> Outcome | None:
        """Resume a gathering a previous process left running, or None if it cannot."""
        ...
