"""The runner: a bounded pool that carries out queued gatherings in FIFO order.

`new` means queued, `inprogress` running. The queue is the store's (``queue``): the
``queue`` task claims the oldest queued gathering while this replica has a free slot and
fewer than the limit run across all replicas; a submit, an end here or the poll interval
wakes it. With caller credentials a replica claims only what it received (it holds the
token). Each gathering runs in its own task under a wall-clock limit (its timeout plus a
copy margin) and can be cancelled. On shutdown the runner stops taking work, lets running
gatherings finish within the grace period and cancels the rest, recording every outcome.

Each claim carries a lease (``leases``) the ``leases`` task renews while the gathering
runs here. Running gatherings whose lease lapsed (their replica died), or that this
replica holds under its own name, are taken over: resumed by the executor's recovery, or
ended `error`. SQLite has one replica: at start everything running or queued is its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from must_gather_api.cores.collection import CoreCollector
from must_gather_api.errors import Conflict, FailureKind, ServiceStopping
from must_gather_api.executors.base import INTERRUPTED, Credentials, Executor, Failure, Outcome
from must_gather_api.gatherings import finishing, leases, queue
from must_gather_api.gatherings.jobs import job_for
from must_gather_api.gatherings.layout import Layout
from must_gather_api.gatherings.leases import Lease
from must_gather_api.gatherings.ledger import StoredLedger
from must_gather_api.gatherings.masking import masker
from must_gather_api.gatherings.outputs import OutputLog
from must_gather_api.gatherings.records import Gathering, Status
from must_gather_api.gatherings.running import CANCELLED, Running, outcome_of, wind_down
from must_gather_api.gatherings.store import GatheringStore, now
from must_gather_api.reasons import public_reason
from must_gather_api.redaction import RedactionConfig

log = logging.getLogger(__name__)

LEASE_LOST = "this replica lost its lease (another replica took the gathering over)"


@dataclass(frozen=True)
class RunnerOptions:
    concurrency: int = 4
    timeout_margin: timedelta = timedelta(minutes=5)
    flush_interval: timedelta = timedelta(seconds=1)
    archive_filename: str = "must-gather.tar.gz"
    max_archive_bytes: int | None = None
    max_archive_entries: int | None = None
    redaction: RedactionConfig | None = None  # for gatherings asking for redact
    lease: Lease = field(default_factory=lambda: Lease("local", timedelta(seconds=30)))
    # Whether any replica may run any queued gathering (service credentials).
    shared_queue: bool = True
    poll_interval: timedelta = timedelta(seconds=2)


class Runner:
    """Use as an async context manager; ``submit`` queues, ``cancel`` stops one."""

    def __init__(
        self,
        *,
        store: GatheringStore,
        executor: Executor,
        layout: Layout,
        options: RunnerOptions,
        on_finished: Callable[[Gathering, Outcome, float], None] | None = None,
        cores: CoreCollector | None = None,
    ) -> None:
        self._store = store
        self._executor = executor
        self._layout = layout
        self._options = options
        self._on_finished = on_finished
        self._cores = cores
        # What was submitted here, with its caller's credentials; the store keeps the order.
        self._queued: dict[int, Credentials | None] = {}
        self._wake = asyncio.Event()
        self._running: dict[int, Running] = {}
        self._runs: set[asyncio.Task[None]] = set()
        self._dispatcher: asyncio.Task[None] | None = None
        self._recoveries: set[asyncio.Task[None]] = set()
        self._adopting: set[int] = set()
        # Claimed here and not yet in _running (the directory is being prepared): the lease
        # renewal's search for orphans must not take these over from this very replica.
        self._claimed: set[int] = set()
        self._lease_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._idle = asyncio.Event()
        self._idle.set()

    # -- lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        await self._recover()
        self._lease_task = asyncio.create_task(self._keep_leases(), name="leases")
        self._dispatcher = asyncio.create_task(self._dispatch(), name="queue")
        self._wake.set()

    async def stop(self, *, grace: timedelta) -> None:
        """Take no more work; give running gatherings ``grace`` to end, then cancel them
        or, where another replica can resume them, hand them over."""
        self._stopping = True
        handed = await wind_down(self._running, grace=grace, hand_over=self._hands_over())
        await self._idle.wait()
        # Runs claimed as the stop began put their gathering back in the queue.
        await asyncio.gather(*self._runs, return_exceptions=True)
        for task in self._recoveries:
            task.cancel()
        # Renewals go on until every gathering here has ended and been recorded.
        loops = [task for task in (self._lease_task, self._dispatcher) if task is not None]
        for task in loops:
            task.cancel()
        await asyncio.gather(*self._recoveries, *loops, return_exceptions=True)
        self._lease_task = self._dispatcher = None
        if handed:
            # Once this replica has let go of them (nothing more written, no renewal in
            # flight), so the next holder resumes them at its next lease round.
            try:
                await leases.release(self._store, self._options.lease, handed)
            except Exception:
                log.exception("could not release the leases; they lapse by themselves")

    # -- requests ---------------------------------------------------------------

    def submit(self, gathering: Gathering, *, credentials: Credentials | None = None) -> None:
        if self._stopping:
            raise ServiceStopping("the service is stopping; try again in a moment")
        self._queued[gathering.id] = credentials
        self._wake.set()

    @property
    def queue_lease(self) -> Lease | None:
        """The lease a gathering received here is held under while it waits, when only this
        replica can start it (it alone holds the caller's token)."""
        return None if self._options.shared_queue else self._options.lease

    @property
    def queue_depth(self) -> int:
        return len(self._queued)

    @property
    def running_count(self) -> int:
        return len(self._running)

    def is_busy(self, gathering_id: int) -> bool:
        """Queued or running here: cleanup must not touch it."""
        return any(
            gathering_id in ids
            for ids in (self._queued, self._claimed, self._running, self._adopting)
        )

    def output_of(self, gathering_id: int) -> OutputLog | None:
        running = self._running.get(gathering_id)
        return None if running is None else running.output

    async def cancel(self, gathering: Gathering) -> Gathering:
        """Cancel a queued or running gathering; its record ends `error`, reason "cancelled"."""
        if gathering.id in self._queued or gathering.status is Status.NEW:
            # Queued here, on another replica, or left over: whoever claims it first wins.
            self._queued.pop(gathering.id, None)
            ended = await queue.end_queued(self._store, gathering.id, CANCELLED)
            if ended is not None:
                return ended
            gathering = await self._store.get(gathering.id)
        running = self._running.get(gathering.id)
        if running is not None:
            running.cancelled_for = Failure(FailureKind.CANCELLED, CANCELLED)
            running.task.cancel()
            # The worker records the outcome (and packs what was gathered); wait for it.
            await running.recorded.wait()
            return await self._store.get(gathering.id)
        if gathering.status is Status.INPROGRESS:
            # Run by another replica, or being taken over: its holder sees the request.
            return await leases.cancel_elsewhere(
                self._store, gathering.id, within=self._options.lease.duration
            )
        raise Conflict(f"gathering {gathering.id} is {gathering.status.value}; nothing to cancel")

    # -- work -------------------------------------------------------------------

    async def _dispatch(self) -> None:
        """Claim queued gatherings while this replica and the whole service have room."""
        poll = self._options.poll_interval.total_seconds()
        while True:
            # asyncio.timeout, not wait_for: 3.11's wait_for swallows a cancellation that
            # arrives as the event is set, and the stop would wait forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(poll):
                    await self._wake.wait()
            self._wake.clear()
            try:
                while not self._stopping and len(self._runs) < self._options.concurrency:
                    gathering = await queue.claim_next(
                        self._store,
                        self._options.lease,
                        limit=self._options.concurrency,
                        only=None if self._options.shared_queue else set(self._queued),
                    )
                    if gathering is None:
                        break
                    credentials = self._queued.pop(gathering.id, None)
                    self._claimed.add(gathering.id)
                    self._idle.clear()
                    task = asyncio.create_task(
                        self._run_claimed(gathering, credentials), name=f"run-{gathering.id}"
                    )
                    self._runs.add(task)
                    task.add_done_callback(self._run_ended)
            except Exception:
                # The store may be back at the next wake-up; the queue is kept there.
                log.exception("could not take the next gathering from the queue")

    def _run_ended(self, task: asyncio.Task[None]) -> None:
        self._runs.discard(task)
        if not self._running and not self._runs:
            self._idle.set()
        self._wake.set()  # a slot is free

    async def _run_claimed(self, gathering: Gathering, credentials: Credentials | None) -> None:
        try:
            await asyncio.to_thread(self._layout.prepare, gathering.id)
            if self._stopping:
                # Claimed as the stop began: back to the queue, for another replica or
                # the next start.
                await queue.put_back(self._store, gathering.id)
                return
            await self._execute(gathering, credentials, recover=False)
        except Exception as e:
            log.exception("gathering %d failed in the runner", gathering.id)
            await self._record_failure(gathering.id, f"the service failed to run it: {e}")
        finally:
            self._claimed.discard(gathering.id)

    async def _recover_one(self, gathering: Gathering, interruption: str) -> None:
        try:
            await asyncio.to_thread(self._layout.ensure, gathering.id)
            await self._execute(gathering, None, recover=True, interruption=interruption)
        except Exception as e:
            log.exception("gathering %d could not be recovered", gathering.id)
            await self._record_failure(gathering.id, f"{interruption}; recovery failed: {e}")
        finally:
            self._adopting.discard(gathering.id)
            self._wake.set()  # a slot is free across the replicas

    async def _record_failure(self, gathering_id: int, reason: str) -> None:
        """Never leave a record `inprogress` because of our own bug."""
        try:
            current = await self._store.get(gathering_id)
            if not current.status.finished:
                await self._store.update(
                    gathering_id,
                    status=Status.ERROR,
                    error_reason=public_reason(reason, hidden=[self._layout.data_dir]),
                    finished_at=now(),
                )
        except Exception:
            log.exception("gathering %d: cannot record the failure either", gathering_id)

    async def _execute(
        self,
        gathering: Gathering,
        credentials: Credentials | None,
        *,
        recover: bool,
        interruption: str = INTERRUPTED,
    ) -> None:
        job = job_for(
            gathering,
            layout=self._layout,
            credentials=credentials,
            ledger=StoredLedger(self._store, gathering.id),
            interruption=interruption,
        )
        limit = job.timeout + self._options.timeout_margin
        if self._cores is not None:
            limit += self._cores.extra_time(job)
        self._idle.clear()
        async with OutputLog(
            self._layout.output_log(gathering.id),
            flush_interval=self._options.flush_interval.total_seconds(),
            mask=masker(credentials.token if credentials else ""),
        ) as output:

            def call() -> Coroutine[Any, Any, Outcome | None]:
                return (
                    self._executor.recover(job, output)
                    if recover
                    else self._executor.run(job, output)
                )

            # Inside the task: a cancel or the time limit stops the cores' copy too.
            wrapped = call() if self._cores is None else self._cores.after(call, job, output)
            task: asyncio.Task[Outcome | None] = asyncio.create_task(
                wrapped, name=f"gathering-{gathering.id}"
            )
            running = Running(task=task, output=output, handover=job.handover)
            self._running[gathering.id] = running
            try:
                outcome = await outcome_of(task, running, limit, interruption)
                if running.left_because:
                    log.warning(
                        "gathering %d: %s; not recorded here", gathering.id, running.left_because
                    )
                    return
                record, outcome = await finishing.finish(
                    self._store,
                    self._layout,
                    gathering,
                    outcome,
                    output=output,
                    archive_filename=self._options.archive_filename,
                    max_archive_bytes=self._options.max_archive_bytes,
                    max_archive_entries=self._options.max_archive_entries,
                    redaction=self._options.redaction,
                )
                # Before the runner counts as idle: a stop cancels its tasks then.
                if self._on_finished is not None:
                    self._on_finished(record, outcome, time.monotonic() - running.started)
            finally:
                self._running.pop(gathering.id, None)
                running.recorded.set()
                if not self._running and not self._runs:
                    self._idle.set()

    async def _recover(self) -> None:
        # SQLite serves one replica: whatever it finds running or queued, it had before a
        # restart. Queued ones then end saying that the caller's token is gone, where they
        # need it. With PostgreSQL the queue is the store's and other replicas hold the
        # tokens of theirs.
        only_replica = self._store.dialect == "sqlite"
        await self._adopt_orphans(every=only_replica)
        if only_replica:
            for gathering in await self._store.find_all(status=Status.NEW):
                self.submit(gathering)

    async def _adopt_orphans(self, *, every: bool = False, mine: bool = True) -> None:
        lease = self._options.lease
        for found in await leases.orphaned(self._store, lease, every=every, mine=mine):
            if found.id in self._claimed or found.id in self._running or found.id in self._adopting:
                continue
            gathering = await leases.take_over(self._store, found, lease, every=every)
            if gathering is None:
                continue  # another replica was quicker, or its holder came back
            # The only replica (SQLite) ran it itself, under the name of its previous process.
            interruption = INTERRUPTED if every else leases.interruption(found, lease)
            if interruption != INTERRUPTED:
                log.warning("gathering %d: taken over, %s", gathering.id, interruption)
            self._adopting.add(gathering.id)
            task = asyncio.create_task(
                self._recover_one(gathering, interruption), name=f"recover-{gathering.id}"
            )
            self._recoveries.add(task)
            task.add_done_callback(self._recoveries.discard)

    async def _keep_leases(self) -> None:
        """Renew the leases of what runs here; take over what lost replicas left."""
        lease = self._options.lease
        # Often enough to see a DELETE answered by another replica within seconds.
        every = min(lease.renew_every, self._options.poll_interval).total_seconds()
        while True:
            await asyncio.sleep(every)
            try:
                mine = set(self._running)
                held = await leases.renew(self._store, lease, mine | set(self._queued))
                for gathering_id in mine - held.keys():
                    self._stop(gathering_id, LEASE_LOST, left_because=LEASE_LOST)
                for gathering_id in (g for g, asked in held.items() if asked):
                    self._stop(gathering_id, CANCELLED)
                if not self._stopping:
                    # Not those held under this replica's name and live: only a previous
                    # process's, at start; now they are this process's own, being started.
                    await self._adopt_orphans(mine=False)
                    keep = set(self._queued)
                    for ended in await queue.end_abandoned(self._store, keep=keep):
                        log.warning("gathering %d: %s", ended.id, ended.error_reason)
                # Drop what was received here but run or cancelled by another replica.
                received = set(self._queued)
                for gathering_id in received - await queue.still_queued(self._store, received):
                    self._queued.pop(gathering_id, None)
            except Exception:
                # The store may be back by the next round; a lease lapses only after three.
                log.exception("could not renew or check the gatherings' leases")

    def _stop(self, gathering_id: int, reason: str, *, left_because: str = "") -> None:
        running = self._running.get(gathering_id)
        if running is not None:
            running.stop(reason, left_because=left_because)

    def _hands_over(self) -> bool:
        """Whether a stop leaves its running gatherings to another replica (or its next
        start): any may resume them with the service's credentials from a shared store."""
        return self._options.shared_queue and self._store.dialect == "postgresql"
