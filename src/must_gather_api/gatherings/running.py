"""One gathering running on this replica: its task, its output, why it was stopped, and
the outcome to record once it ends (the executor's, or one made of how it was stopped)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from must_gather_api.errors import FailureKind
from must_gather_api.executors.base import Failure, Outcome
from must_gather_api.gatherings.outputs import OutputLog
from must_gather_api.reasons import UNEXPECTED

log = logging.getLogger(__name__)

CANCELLED = "cancelled"


@dataclass
class Running:
    task: asyncio.Task[Outcome | None]
    output: OutputLog
    cancelled_for: Failure | None = None
    started: float = field(default_factory=time.monotonic)
    recorded: asyncio.Event = field(default_factory=asyncio.Event)
    # Another replica holds it now: stop, and leave the record to that replica.
    lease_lost: bool = False


async def outcome_of(
    task: asyncio.Task[Outcome | None],
    running: Running,
    limit: timedelta,
    interruption: str,
) -> Outcome:
    done, _ = await asyncio.wait([task], timeout=limit.total_seconds())
    if not done:
        running.cancelled_for = Failure(
            FailureKind.TIMEOUT, f"timed out after {limit} (its timeout plus the copy margin)"
        )
        task.cancel()
        await asyncio.wait([task])
    if task.cancelled():
        failure = running.cancelled_for or Failure(FailureKind.CANCELLED, CANCELLED)
        return Outcome(failures=(failure,))
    if (error := task.exception()) is not None:
        log.error("the executor failed", exc_info=error)
        return Outcome.failed(FailureKind.INTERNAL, UNEXPECTED)
    outcome = task.result()
    if outcome is None:
        return Outcome.failed(FailureKind.INTERRUPTED, interruption)
    return outcome
