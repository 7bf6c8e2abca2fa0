"""One gathering running on this replica: its task, its output, why it was stopped, and
the outcome to record once it ends (the executor's, or one made of how it was stopped)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from must_gather_api.errors import FailureKind
from must_gather_api.executors.base import Failure, HandOver, Outcome
from must_gather_api.gatherings.outputs import OutputLog
from must_gather_api.reasons import UNEXPECTED

log = logging.getLogger(__name__)

CANCELLED = "cancelled"
STOPPED = "cancelled: the service stopped before the gathering ended"
HANDED_OVER = "left to another replica as this one stopped (its pods and namespace kept)"


@dataclass
class Running:
    task: asyncio.Task[Outcome | None]
    output: OutputLog
    cancelled_for: Failure | None = None
    started: float = field(default_factory=time.monotonic)
    recorded: asyncio.Event = field(default_factory=asyncio.Event)
    handover: HandOver = field(default_factory=HandOver)
    # Why the record is left to another holder (its lease was lost, or the gathering was
    # handed over as this replica stopped): "" records the outcome here.
    left_because: str = ""

    def stop(self, reason: str, *, left_because: str = "") -> None:
        """Cancel the run, saying why; with ``left_because``, leave its record and what it
        made in the cluster to another holder, which resumes it."""
        if self.task.done() or self.cancelled_for is not None:
            return  # ended or stopping meanwhile: a renewal or a stop raced it
        if left_because:
            self.left_because = left_because
            self.handover.set()
        self.cancelled_for = Failure(FailureKind.CANCELLED, reason)
        self.task.cancel()


async def wind_down(runs: Mapping[int, Running], *, grace: timedelta, hand_over: bool) -> list[int]:
    """A stopping replica's running gatherings: ``grace`` to end, then cancelled, or (with
    ``hand_over``) left to another replica to resume. Returns the ids handed over."""
    if not runs:
        return []
    log.info("waiting up to %s for %d running gatherings", grace, len(runs))
    _done, pending = await asyncio.wait(
        [running.task for running in runs.values()], timeout=grace.total_seconds()
    )
    handed = []
    for gathering_id, running in list(runs.items()):
        if running.task not in pending:
            continue
        if hand_over:
            running.stop(STOPPED, left_because=HANDED_OVER)
            handed.append(gathering_id)
            log.info("gathering %d left to another replica: the service is stopping", gathering_id)
        else:
            running.stop(STOPPED)
            log.info("gathering %d cancelled: the service is stopping", gathering_id)
    return handed


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
