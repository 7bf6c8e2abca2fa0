"""The runner with a fake executor and a real SQLite store: queue, limits, cancel, stop, restart."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from must_gather_api.errors import Conflict, FailureKind, ServiceStopping
from must_gather_api.executors.base import INTERRUPTED, Outcome
from must_gather_api.gatherings.layout import Layout
from must_gather_api.gatherings.leases import Lease
from must_gather_api.gatherings.records import Gathering, Status
from must_gather_api.gatherings.runner import (
    STOPPED,
    Runner,
    RunnerOptions,
)
from must_gather_api.gatherings.running import CANCELLED
from must_gather_api.gatherings.store import GatheringStore, now
from must_gather_api.parameters import GatheringOptions
from support.executors import FakeExecutor

pytestmark = pytest.mark.asyncio


@dataclass
class Finished:
    """Lets a test await the end of a gathering instead of polling."""

    records: dict[int, Gathering] = field(default_factory=dict)
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    events: dict[int, asyncio.Event] = field(default_factory=lambda: defaultdict(asyncio.Event))

    def __call__(self, gathering: Gathering, outcome: Outcome, _seconds: float) -> None:
        self.records[gathering.id] = gathering
        self.outcomes[gathering.id] = outcome
        self.events[gathering.id].set()

    async def wait(self, gathering_id: int) -> Gathering:
        await asyncio.wait_for(self.events[gathering_id].wait(), 10)
        return self.records[gathering_id]


@dataclass
class Bench:
    store: GatheringStore
    layout: Layout
    executor: FakeExecutor
    finished: Finished

    def runner(self, **options: object) -> Runner:
        return Runner(
            store=self.store,
            executor=self.executor,
            layout=self.layout,
            options=RunnerOptions(flush_interval=timedelta(seconds=0.01), **options),  # type: ignore[arg-type]
            on_finished=self.finished,
        )

    async def create(self, image: str, *, timeout: str = "10m") -> Gathering:
        return await self.store.create(GatheringOptions.of(image=image, timeout=timeout))


@pytest_asyncio.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    store = await GatheringStore.open(f"sqlite+aiosqlite:///{tmp_path / 'runner.db'}")
    try:
        yield Bench(store, Layout(tmp_path / "data"), FakeExecutor(), Finished())
    finally:
        await store.close()


@pytest_asyncio.fixture
async def started_runner(bench: Bench) -> AsyncIterator[Runner]:
    runner = bench.runner(concurrency=2)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop(grace=timedelta(0))


async def test_queue_is_fifo_and_the_pool_is_bounded(bench: Bench, started_runner: Runner) -> None:
    gatherings = [await bench.create("fake/block") for _ in range(5)]
    for gathering in gatherings:
        started_runner.submit(gathering)
    await bench.executor.wait_started(1)
    await bench.executor.wait_started(2)
    assert started_runner.running_count == 2
    assert started_runner.queue_depth == 3
    assert (await bench.store.get(3)).status is Status.NEW
    for gathering in gatherings:
        bench.executor.release(gathering.id)
        await bench.finished.wait(gathering.id)
    # The two workers claim 1 and 2 concurrently, so those two may start in either order.
    started = bench.executor.started
    assert (sorted(started[:2]), started[2:]) == ([1, 2], [3, 4, 5])
    assert bench.executor.peak == 2
    statuses = [(await bench.store.get(g.id)).status for g in gatherings]
    assert statuses == [Status.COMPLETED] * 5


async def test_a_gathering_past_its_timeout_is_cancelled(bench: Bench) -> None:
    runner = bench.runner(concurrency=1, timeout_margin=timedelta(0))
    await runner.start()
    try:
        gathering = await bench.create("fake/block", timeout="0.2s")
        runner.submit(gathering)
        record = await bench.finished.wait(gathering.id)
    finally:
        await runner.stop(grace=timedelta(0))
    assert record.status is Status.ERROR
    assert record.error_reason.startswith("timed out after 0:00:00.2")
    assert bench.finished.outcomes[gathering.id].kind is FailureKind.TIMEOUT
    assert bench.executor.cancelled == [gathering.id]
    # What it had gathered before the timeout is still archived.
    assert record.archive_sha256 and bench.layout.archive(gathering.id).is_file()


async def test_cancel_of_a_queued_gathering_never_runs_it(
    bench: Bench, started_runner: Runner
) -> None:
    blockers = [await bench.create("fake/block") for _ in range(2)]
    queued = await bench.create("fake/ok")
    for gathering in [*blockers, queued]:
        started_runner.submit(gathering)
    await bench.executor.wait_started(2)
    cancelled = await started_runner.cancel(await bench.store.get(queued.id))
    assert (cancelled.status, cancelled.error_reason) == (Status.ERROR, CANCELLED)
    for gathering in blockers:
        bench.executor.release(gathering.id)
        await bench.finished.wait(gathering.id)
    assert queued.id not in bench.executor.started


async def test_cancel_of_a_running_gathering_stops_the_executor(
    bench: Bench, started_runner: Runner
) -> None:
    gathering = await bench.create("fake/block")
    started_runner.submit(gathering)
    await bench.executor.wait_started(gathering.id)
    record = await started_runner.cancel(await bench.store.get(gathering.id))
    assert (record.status, record.error_reason) == (Status.ERROR, CANCELLED)
    assert bench.finished.outcomes[gathering.id].kind is FailureKind.CANCELLED
    assert bench.executor.cancelled == [gathering.id]
    assert record.finished_at is not None


async def test_cancel_of_a_finished_gathering_is_a_conflict(
    bench: Bench, started_runner: Runner
) -> None:
    gathering = await bench.create("fake/ok")
    started_runner.submit(gathering)
    record = await bench.finished.wait(gathering.id)
    with pytest.raises(Conflict, match="completed"):
        await started_runner.cancel(record)


async def test_stop_lets_running_gatherings_finish_within_the_grace(bench: Bench) -> None:
    runner = bench.runner(concurrency=1)
    await runner.start()
    gathering = await bench.create("fake/block")
    runner.submit(gathering)
    await bench.executor.wait_started(gathering.id)
    stopping = asyncio.create_task(runner.stop(grace=timedelta(seconds=30)))
    await asyncio.sleep(0)
    bench.executor.release(gathering.id)
    await stopping
    assert (await bench.store.get(gathering.id)).status is Status.COMPLETED


async def test_stop_cancels_what_outlasts_the_grace_and_keeps_the_queue(bench: Bench) -> None:
    runner = bench.runner(concurrency=1)
    await runner.start()
    running = await bench.create("fake/block")
    queued = await bench.create("fake/ok")
    runner.submit(running)
    runner.submit(queued)
    await bench.executor.wait_started(running.id)
    await runner.stop(grace=timedelta(seconds=0.05))
    stopped = await bench.store.get(running.id)
    assert (stopped.status, stopped.error_reason) == (Status.ERROR, STOPPED)
    await bench.finished.wait(running.id)
    assert bench.finished.outcomes[running.id].kind is FailureKind.CANCELLED
    # Queued work is left `new` for the next start to pick up.
    assert (await bench.store.get(queued.id)).status is Status.NEW
    with pytest.raises(ServiceStopping):
        runner.submit(queued)


async def test_restart_requeues_new_and_ends_unresumable_running_ones(bench: Bench) -> None:
    left_running = await bench.create("fake/block")
    await bench.store.claim(left_running.id)
    left_queued = await bench.create("fake/ok")
    runner = bench.runner(concurrency=2)
    await runner.start()
    try:
        interrupted = await bench.finished.wait(left_running.id)
        completed = await bench.finished.wait(left_queued.id)
    finally:
        await runner.stop(grace=timedelta(0))
    assert (interrupted.status, interrupted.error_reason) == (Status.ERROR, INTERRUPTED)
    assert bench.finished.outcomes[left_running.id].kind is FailureKind.INTERRUPTED
    assert bench.executor.recovered == [left_running.id]
    assert completed.status is Status.COMPLETED


async def test_restart_resumes_what_the_executor_can_resume(bench: Bench) -> None:
    bench.executor.resumable = True
    left_running = await bench.create("fake/block")
    await bench.store.claim(left_running.id)
    runner = bench.runner(concurrency=1)
    await runner.start()
    try:
        resumed = await bench.finished.wait(left_running.id)
    finally:
        await runner.stop(grace=timedelta(0))
    assert resumed.status is Status.COMPLETED
    assert "resumed" in bench.layout.output_log(left_running.id).read_text()


async def test_an_executor_bug_ends_the_gathering_in_error(
    bench: Bench, started_runner: Runner
) -> None:
    gathering = await bench.create("fake/crash")
    started_runner.submit(gathering)
    record = await bench.finished.wait(gathering.id)
    assert record.status is Status.ERROR
    assert record.error_reason == "the executor failed unexpectedly (the service log says why)"
    assert bench.finished.outcomes[gathering.id].kind is FailureKind.INTERNAL
    assert started_runner.running_count == 0


async def test_output_reaches_the_log_file(bench: Bench, started_runner: Runner) -> None:
    gathering = await bench.create("fake/ok")
    started_runner.submit(gathering)
    await bench.finished.wait(gathering.id)
    text = bench.layout.output_log(gathering.id).read_text()
    assert text.startswith("[fake] gathering with fake/ok\n[fake] done\n")
    assert "[must-gather-api] archive ready" in text


async def test_a_lapsed_lease_of_another_replica_is_taken_over_while_running(
    bench: Bench,
) -> None:
    runner = bench.runner(lease=Lease("replica-a", timedelta(seconds=1)))
    await runner.start()
    try:
        # Created after the start: found by the leases task, not by the start's recovery.
        lost = await bench.create("fake/block")
        await bench.store.claim(lost.id, holder="replica-b", lease_until=now())
        ended = await bench.finished.wait(lost.id)
    finally:
        await runner.stop(grace=timedelta(0))
    assert bench.executor.recovered == [lost.id]
    assert (ended.status, ended.claimed_by) == (Status.ERROR, "replica-a")
    assert ended.error_reason == "interrupted: replica replica-b stopped renewing its lease"


async def test_a_runner_that_lost_its_lease_stops_and_leaves_the_record(bench: Bench) -> None:
    runner = bench.runner(lease=Lease("replica-a", timedelta(seconds=1)))
    await runner.start()
    gathering = await bench.create("fake/block")
    runner.submit(gathering)
    await bench.executor.wait_started(gathering.id)
    # Another replica took it over (replica-a looked dead to it).
    await bench.store.update(gathering.id, claimed_by="replica-b")
    # The stop waits for the run, which the next renewal cancels.
    await runner.stop(grace=timedelta(seconds=30))
    assert bench.executor.cancelled == [gathering.id]
    assert gathering.id not in bench.finished.records
    kept = await bench.store.get(gathering.id)
    assert (kept.status, kept.claimed_by, kept.error_reason) == (
        Status.INPROGRESS,
        "replica-b",
        "",
    )


async def test_a_replica_runs_what_another_received(bench: Bench) -> None:
    # replica-a took the request and never got to it (its runner is not started).
    receiver = bench.runner(lease=Lease("replica-a", timedelta(minutes=1)))
    posted = await bench.create("fake/ok")
    receiver.submit(posted)
    other = bench.runner(
        lease=Lease("replica-b", timedelta(minutes=1)), poll_interval=timedelta(seconds=0.05)
    )
    await other.start()
    try:
        ended = await bench.finished.wait(posted.id)
    finally:
        await other.stop(grace=timedelta(0))
    assert (ended.status, ended.claimed_by) == (Status.COMPLETED, "replica-b")
    assert bench.executor.started == [posted.id]


async def test_with_caller_credentials_a_replica_runs_only_what_it_received(
    bench: Bench,
) -> None:
    receiver = bench.runner(lease=Lease("replica-a", timedelta(minutes=1)), shared_queue=False)
    other = bench.runner(
        lease=Lease("replica-b", timedelta(minutes=1)),
        shared_queue=False,
        poll_interval=timedelta(seconds=0.05),
    )
    await other.start()
    try:
        # Posted after replica-b's start (on SQLite a start takes every queued one: it
        # is the only replica).
        elsewhere = await bench.create("fake/ok")
        receiver.submit(elsewhere)
        own = await bench.create("fake/ok")
        other.submit(own)
        await bench.finished.wait(own.id)
    finally:
        await other.stop(grace=timedelta(0))
    # Older, but its caller's token is in replica-a's memory: replica-b left it.
    assert bench.executor.started == [own.id]
    assert (await bench.store.get(elsewhere.id)).status is Status.NEW


async def test_a_delete_on_another_replica_cancels_the_gathering_where_it_runs(
    bench: Bench,
) -> None:
    holder = bench.runner(
        lease=Lease("replica-a", timedelta(seconds=3)), poll_interval=timedelta(seconds=0.05)
    )
    other = bench.runner(lease=Lease("replica-b", timedelta(seconds=10)))
    await holder.start()
    try:
        gathering = await bench.create("fake/block")
        holder.submit(gathering)
        await bench.executor.wait_started(gathering.id)
        # replica-b answers the DELETE: it does not run the gathering.
        cancelled = await other.cancel(await bench.store.get(gathering.id))
    finally:
        await holder.stop(grace=timedelta(0))
    assert (cancelled.status, cancelled.error_reason) == (Status.ERROR, CANCELLED)
    assert bench.executor.cancelled == [gathering.id]
    assert bench.finished.outcomes[gathering.id].kind is FailureKind.CANCELLED


async def test_a_gathering_queued_on_a_replica_that_died_ends_saying_so(bench: Bench) -> None:
    other = bench.runner(
        lease=Lease("replica-b", timedelta(minutes=1)),
        shared_queue=False,
        poll_interval=timedelta(seconds=0.05),
    )
    await other.start()
    try:
        # Received by replica-a with caller credentials: held by it while queued. One
        # lease has lapsed (replica-a died), the other is renewed (replica-a lives).
        lost = await bench.store.create(
            GatheringOptions.of(image="fake/ok"), held_by="replica-a", held_until=now()
        )
        alive = await bench.store.create(
            GatheringOptions.of(image="fake/ok"),
            held_by="replica-a",
            held_until=now() + timedelta(minutes=1),
        )
        for _ in range(500):
            ended = await bench.store.get(lost.id)
            if ended.status is not Status.NEW:
                break
            await asyncio.sleep(0.01)  # another replica's record: no event to wait on
    finally:
        await other.stop(grace=timedelta(0))
    assert ended.status is Status.ERROR
    assert ended.error_reason == (
        "replica replica-a received it and stopped before it started; the caller's token "
        "went with it: submit it again"
    )
    assert (await bench.store.get(alive.id)).status is Status.NEW
    assert bench.executor.started == []
