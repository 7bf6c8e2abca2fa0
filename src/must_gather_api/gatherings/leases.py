"""Leases: which replica runs a gathering, and until when its claim holds.

A replica claims a queued gathering with a lease (``GatheringStore.claim``) and renews it
while it runs the gathering. A replica that dies stops renewing; once its lease has
lapsed another replica takes the gathering over. Every change here is one conditional
UPDATE: PostgreSQL re-checks its WHERE once it holds the row's lock, so of two replicas
taking over the same gathering exactly one gets it, and a holder whose lease was taken
learns it at its next renewal. SQLite runs them too, for its one replica.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update

from must_gather_api.executors.base import INTERRUPTED
from must_gather_api.gatherings.records import Gathering, Status
from must_gather_api.gatherings.store import GatheringStore, now, record_of
from must_gather_api.gatherings.tables import GatheringRow

_CANCEL_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Lease:
    """This replica's name in the claims it makes, and how long each claim lasts."""

    holder: str
    duration: timedelta

    @property
    def renew_every(self) -> timedelta:
        # Three tries before it lapses: one slow or failed round trip loses nothing.
        return self.duration / 3

    def until(self) -> datetime:
        return now() + self.duration


def lapsed(stamp: datetime) -> ColumnElement[bool]:
    # No lease at all: claimed before leases existed, by a process that is gone.
    return or_(GatheringRow.lease_until.is_(None), GatheringRow.lease_until < stamp)


async def renew(store: GatheringStore, lease: Lease, ids: Collection[int]) -> dict[int, bool]:
    """Extend this replica's leases on ``ids`` (running here, or received here and queued):
    the ids it still holds (the others were taken over, cancelled or finished meanwhile),
    each with whether a DELETE on any replica asked for its cancellation."""
    if not ids:
        return {}
    async with store.session("renew the leases") as session:
        result = await session.execute(
            update(GatheringRow)
            .where(
                GatheringRow.id.in_(list(ids)),
                GatheringRow.status.in_([Status.NEW.value, Status.INPROGRESS.value]),
                GatheringRow.claimed_by == lease.holder,
            )
            .values(lease_until=lease.until())
            .returning(GatheringRow.id, GatheringRow.cancel_requested)
        )
        held = {row[0]: bool(row[1]) for row in result}
        await session.commit()
    return held


async def release(store: GatheringStore, lease: Lease, ids: Collection[int]) -> None:
    """End this replica's leases on ``ids`` now, so another replica takes them over at
    once instead of after ``lease.duration``."""
    async with store.session("release the leases") as session:
        await session.execute(
            update(GatheringRow)
            .where(
                GatheringRow.id.in_(list(ids)),
                GatheringRow.status == Status.INPROGRESS.value,
                GatheringRow.claimed_by == lease.holder,
            )
            .values(lease_until=now())
        )
        await session.commit()


async def request_cancel(store: GatheringStore, gathering_id: int) -> bool:
    """Ask whichever replica runs the gathering to cancel it; False if it is not running."""
    async with store.session("cancel the gathering") as session:
        result = await session.execute(
            update(GatheringRow)
            .where(GatheringRow.id == gathering_id, GatheringRow.status == Status.INPROGRESS.value)
            .values(cancel_requested=True)
            .returning(GatheringRow.id)
        )
        asked = result.first() is not None
        await session.commit()
    return asked


async def cancel_elsewhere(
    store: GatheringStore,
    gathering_id: int,
    *,
    within: timedelta,
) -> Gathering:
    """Ask the holder to cancel a running gathering and wait, up to ``within``, for it to
    record the end; the record as it is then (still running if the holder is slower)."""
    await request_cancel(store, gathering_id)
    deadline = time.monotonic() + within.total_seconds()
    while True:
        current = await store.get(gathering_id)
        if current.status.finished or time.monotonic() > deadline:
            return current
        await asyncio.sleep(_CANCEL_POLL_SECONDS)  # another process's record: no event


async def orphaned(
    store: GatheringStore, lease: Lease, *, every: bool = False, mine: bool = True
) -> list[Gathering]:
    """Running gatherings no live replica holds: their lease lapsed, or (``mine``, at
    start) this replica holds them (a restart under the same name). ``every``: all running
    ones (the only replica)."""
    query = select(*GatheringRow.__table__.columns).where(
        GatheringRow.status == Status.INPROGRESS.value
    )
    if not every:
        held_here = GatheringRow.claimed_by == lease.holder
        query = query.where(or_(lapsed(now()), held_here) if mine else lapsed(now()))
    async with store.session("look for lapsed leases") as session:
        return [record_of(row) for row in await session.execute(query.order_by(GatheringRow.id))]


async def take_over(
    store: GatheringStore, gathering: Gathering, lease: Lease, *, every: bool = False
) -> Gathering | None:
    """Claim a running gathering ``orphaned`` found, if it still is: None when another
    replica took it first, its holder renewed meanwhile, or it ended."""
    stamp = now()
    query = update(GatheringRow).where(
        GatheringRow.id == gathering.id, GatheringRow.status == Status.INPROGRESS.value
    )
    if not every:
        previous = gathering.claimed_by or None
        holder = GatheringRow.claimed_by.is_not_distinct_from(previous)
        query = query.where(holder, or_(lapsed(stamp), GatheringRow.claimed_by == lease.holder))
    async with store.session("take the gathering over") as session:
        result = await session.execute(
            query.values(
                claimed_by=lease.holder, lease_until=lease.until(), updated_at=stamp
            ).returning(GatheringRow)
        )
        row = result.scalars().first()
        await session.commit()
    return None if row is None else record_of(row)


def interruption(gathering: Gathering, lease: Lease) -> str:
    """How the reason of a gathering taken over begins: the replica that was lost, or a
    restart of this one (or of a replica from before leases)."""
    lost = gathering.claimed_by
    if not lost or lost == lease.holder:
        return INTERRUPTED
    return f"interrupted: replica {lost} stopped renewing its lease"
