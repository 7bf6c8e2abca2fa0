"""The shared queue on SQLite and PostgreSQL: oldest first, one limit across the replicas
(two stores on one database)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from must_gather_api.gatherings import leases, queue
from must_gather_api.gatherings.leases import Lease
from must_gather_api.gatherings.records import Status
from must_gather_api.gatherings.store import GatheringStore
from must_gather_api.parameters import GatheringOptions

pytestmark = pytest.mark.asyncio

A = Lease("replica-a", timedelta(minutes=5))
B = Lease("replica-b", timedelta(minutes=5))


async def test_the_oldest_is_claimed_first_up_to_the_limit(
    replicas: tuple[GatheringStore, GatheringStore],
) -> None:
    a, b = replicas
    ids = [(await a.create(GatheringOptions.of())).id for _ in range(4)]
    first = await queue.claim_next(a, A, limit=2)
    second = await queue.claim_next(b, B, limit=2)
    assert first is not None and second is not None
    assert [first.id, second.id] == ids[:2]
    assert (first.claimed_by, second.claimed_by) == ("replica-a", "replica-b")
    assert first.status is Status.INPROGRESS and first.lease_until is not None
    # Two run across the replicas: neither may start a third.
    assert await queue.claim_next(a, A, limit=2) is None
    assert await queue.claim_next(b, B, limit=2) is None
    await b.update(first.id, status=Status.COMPLETED)
    third = await queue.claim_next(b, B, limit=2)
    assert third is not None and third.id == ids[2]


async def test_only_limits_the_claim_to_the_given_gatherings(
    replicas: tuple[GatheringStore, GatheringStore],
) -> None:
    a, _ = replicas
    older, newer = [(await a.create(GatheringOptions.of())).id for _ in range(2)]
    assert await queue.claim_next(a, A, limit=5, only=set()) is None
    claimed = await queue.claim_next(a, A, limit=5, only={newer})
    assert claimed is not None and claimed.id == newer
    assert (await a.get(older)).status is Status.NEW


async def test_concurrent_claims_from_two_replicas_never_exceed_the_limit(
    replicas: tuple[GatheringStore, GatheringStore],
) -> None:
    a, b = replicas
    ids = [(await a.create(GatheringOptions.of())).id for _ in range(10)]
    claims = await asyncio.gather(
        *(queue.claim_next(store, lease, limit=3) for store, lease in [(a, A), (b, B)] * 5)
    )
    claimed = sorted(c.id for c in claims if c is not None)
    assert claimed == ids[:3]
    assert (await a.count_active()) == (7, 3)


async def test_a_queued_cancel_and_a_claim_have_one_winner(
    replicas: tuple[GatheringStore, GatheringStore],
) -> None:
    a, b = replicas
    for _ in range(5):
        created = await a.create(GatheringOptions.of())
        claimed, ended = await asyncio.gather(
            queue.claim_next(a, A, limit=10), queue.end_queued(b, created.id, "cancelled")
        )
        assert (claimed is None) != (ended is None), (claimed, ended)
        final = await a.get(created.id)
        if ended is not None:
            assert (final.status, final.error_reason) == (Status.ERROR, "cancelled")
            assert final.finished_at is not None
        else:
            assert final.status is Status.INPROGRESS
            await a.update(created.id, status=Status.COMPLETED)


async def test_a_queued_gathering_is_abandoned_once_its_receivers_lease_lapses(
    replicas: tuple[GatheringStore, GatheringStore],
) -> None:
    a, b = replicas
    short = Lease("replica-a", timedelta(seconds=-1))  # every lease it gives has lapsed
    held = await a.create(GatheringOptions.of(), held_by=A.holder, held_until=A.until())
    shared = await a.create(GatheringOptions.of())  # service credentials: nobody holds it
    assert (held.claimed_by, held.status) == ("replica-a", Status.NEW)
    assert await queue.abandoned(b, keep=()) == []
    # Renewed while queued; a renewal that lapses at once stands for a dead replica-a.
    assert await leases.renew(a, short, [held.id]) == {held.id: False}
    assert [g.id for g in await queue.abandoned(b, keep=())] == [held.id]
    # What this process received is never its own to end; nor is a live lease, not even
    # under its own name (a gathering received here is held before the runner knows it).
    assert await queue.abandoned(a, keep=[held.id]) == []
    assert await leases.renew(a, A, [held.id]) == {held.id: False}
    assert await queue.abandoned(a, keep=()) == []
    assert await queue.abandoned(b, keep=()) == []
    ended = await queue.end_queued(b, held.id, queue.abandoned_reason(held))
    assert ended is not None and ended.error_reason.startswith("replica replica-a received it")
    assert (await b.get(shared.id)).status is Status.NEW
