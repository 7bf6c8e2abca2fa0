"""Leases on claims, on SQLite (one file, two stores) and PostgreSQL: two replicas opening
the same database, as replicas of one deployment do."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from must_gather_api.executors.base import INTERRUPTED
from must_gather_api.gatherings import leases
from must_gather_api.gatherings.leases import Lease
from must_gather_api.gatherings.records import Gathering, Status
from must_gather_api.gatherings.store import GatheringStore
from must_gather_api.parameters import GatheringOptions

pytestmark = pytest.mark.asyncio

ALIVE = Lease("replica-a", timedelta(minutes=5))
OTHER = Lease("replica-b", timedelta(minutes=5))
# A lease that is over as soon as it is taken: replica-a, dead.
DEAD = Lease("replica-a", timedelta(seconds=-1))


async def claimed(store: GatheringStore, lease: Lease) -> Gathering:
    created = await store.create(GatheringOptions.of())
    gathering = await store.claim(created.id, holder=lease.holder, lease_until=lease.until())
    assert gathering is not None
    return gathering


async def test_a_claim_names_its_holder_and_lease(
    replicas: tuple[GatheringStore, GatheringStore],
) -> None:
    a, _ = replicas
    gathering = await claimed(a, ALIVE)
    assert gathering.status is Status.INPROGRESS
    assert gathering.claimed_by == "replica-a"
    assert gathering.lease_until is not None
    assert gathering.lease_until > gathering.updated_at + timedelta(minutes=4)


async def test_only_the_holder_renews(replicas: tuple[GatheringStore, GatheringStore]) -> None:
    a, b = replicas
    first, second = await claimed(a, ALIVE), await claimed(a, ALIVE)
    finished = await claimed(a, ALIVE)
    await a.update(finished.id, status=Status.COMPLETED)
    assert set(await leases.renew(a, ALIVE, [first.id, second.id, finished.id])) == {
        first.id,
        second.id,
    }
    assert await leases.renew(b, OTHER, [first.id, second.id]) == {}
    assert await leases.renew(a, ALIVE, []) == {}
    renewed = await b.get(first.id)
    assert renewed.lease_until is not None and first.lease_until is not None
    assert renewed.lease_until >= first.lease_until
    assert renewed.claimed_by == "replica-a"


async def test_a_live_lease_is_left_alone_and_a_lapsed_one_is_found(
    replicas: tuple[GatheringStore, GatheringStore],
) -> None:
    a, b = replicas
    live = await claimed(a, ALIVE)
    lapsed = await claimed(a, DEAD)
    queued = await a.create(GatheringOptions.of())
    found = await leases.orphaned(b, OTHER)
    assert [g.id for g in found] == [lapsed.id]
    assert found[0].claimed_by == "replica-a"
    # A replica finds its own, live or not: it restarted under the same name.
    assert [g.id for g in await leases.orphaned(a, ALIVE)] == [live.id, lapsed.id]
    # Once started it leaves its own live ones alone: those are being run, or about to be.
    assert [g.id for g in await leases.orphaned(a, ALIVE, mine=False)] == [lapsed.id]
    # The only replica (SQLite) takes every running one.
    assert [g.id for g in await leases.orphaned(b, OTHER, every=True)] == [live.id, lapsed.id]
    assert queued.id not in {g.id for g in await leases.orphaned(b, OTHER, every=True)}


async def test_a_claim_from_before_leases_counts_as_lapsed(
    replicas: tuple[GatheringStore, GatheringStore],
) -> None:
    a, b = replicas
    created = await a.create(GatheringOptions.of())
    assert await a.claim(created.id) is not None  # no holder, no lease
    [found] = await leases.orphaned(b, OTHER)
    assert (found.id, found.claimed_by, found.lease_until) == (created.id, "", None)
    taken = await leases.take_over(b, found, OTHER)
    assert taken is not None and taken.claimed_by == "replica-b"
    assert leases.interruption(found, OTHER) == INTERRUPTED


async def test_of_two_replicas_taking_over_one_wins(
    replicas: tuple[GatheringStore, GatheringStore],
) -> None:
    a, b = replicas
    third = Lease("replica-c", timedelta(minutes=5))
    for _ in range(10):
        lost = await claimed(a, DEAD)
        [found] = await leases.orphaned(b, OTHER)
        results = await asyncio.gather(
            leases.take_over(a, found, third), leases.take_over(b, found, OTHER)
        )
        winners = [r for r in results if r is not None]
        assert len(winners) == 1, results
        assert (await a.get(lost.id)).claimed_by == winners[0].claimed_by
        assert leases.interruption(found, OTHER) == (
            "interrupted: replica replica-a stopped renewing its lease"
        )
        await a.update(lost.id, status=Status.COMPLETED)


async def test_the_lost_holder_learns_it_at_its_next_renewal(
    replicas: tuple[GatheringStore, GatheringStore],
) -> None:
    a, b = replicas
    gathering = await claimed(a, DEAD)
    [found] = await leases.orphaned(b, OTHER)
    assert await leases.take_over(b, found, OTHER) is not None
    assert await leases.renew(a, ALIVE, [gathering.id]) == {}
    assert await leases.renew(b, OTHER, [gathering.id]) == {gathering.id: False}
    # Held again, and live: no one else finds it.
    assert await leases.orphaned(a, Lease("replica-c", timedelta(minutes=5))) == []


async def test_a_take_over_fails_once_the_holder_renewed_or_it_ended(
    replicas: tuple[GatheringStore, GatheringStore],
) -> None:
    a, b = replicas
    late = await claimed(a, DEAD)
    [found] = await leases.orphaned(b, OTHER)
    # replica-a was only slow: it renews before replica-b acts on what it found.
    assert await leases.renew(a, ALIVE, [late.id]) == {late.id: False}
    assert await leases.take_over(b, found, OTHER) is None
    assert (await b.get(late.id)).claimed_by == "replica-a"

    ended = await claimed(a, DEAD)
    [found] = await leases.orphaned(b, OTHER)
    await a.update(ended.id, status=Status.ERROR)
    assert await leases.take_over(b, found, OTHER) is None
    assert await leases.take_over(b, found, OTHER, every=True) is None


async def test_a_cancel_request_reaches_the_holder_at_its_renewal(
    replicas: tuple[GatheringStore, GatheringStore],
) -> None:
    a, b = replicas
    running, other = await claimed(a, ALIVE), await claimed(a, ALIVE)
    assert await leases.request_cancel(b, running.id)
    assert await leases.renew(a, ALIVE, [running.id, other.id]) == {
        running.id: True,
        other.id: False,
    }
    queued = await a.create(GatheringOptions.of())
    assert not await leases.request_cancel(b, queued.id)
    assert not await leases.request_cancel(b, 999)
