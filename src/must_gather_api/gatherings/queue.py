"""The one queue all replicas share: the store's `new` records, oldest first.

A replica with a free slot claims the oldest queued gathering, provided fewer than the
limit run across all replicas. Counting and claiming happen in one transaction that, on
PostgreSQL, first takes a transaction-level advisory lock: claims are serialized across
replicas, so the count each one sees includes every claim before it, and the limit and the
FIFO order hold across them. On SQLite (one replica) a write takes the database's lock
first, to the same effect.

With caller credentials only the replica that received a gathering holds its caller's
token, so the record is held by that replica while it waits, under a lease it renews; once
the lease lapses (the replica died) any replica ends it, saying so.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select, text, update

from must_gather_api.gatherings.leases import Lease, lapsed
from must_gather_api.gatherings.records import Gathering, Status
from must_gather_api.gatherings.store import GatheringStore, claim_update, now, record_of
from must_gather_api.gatherings.tables import GatheringRow

# Any constant no other advisory lock of ours uses (migrations take 724031).
_QUEUE_LOCK = 724032


async def claim_next(
    store: GatheringStore, lease: Lease, *, limit: int, only: Collection[int] | None = None
) -> Gathering | None:
    """Claim the oldest queued gathering (of ``only``, when given) for ``lease.holder``;
    None when nothing is queued or ``limit`` gatherings already run."""
    if only is not None and not only:
        return None
    async with store.session("start the next gathering") as session:
        if store.dialect == "postgresql":
            await session.execute(text(f"SELECT pg_advisory_xact_lock({_QUEUE_LOCK})"))
        else:
            # A write first takes SQLite's write lock for the whole transaction (a file
            # opened by two processes, as the tests do): the count below is then current.
            await session.execute(
                update(GatheringRow).where(GatheringRow.id == -1).values(status=GatheringRow.status)
            )
        running = await session.scalar(
            select(func.count())
            .select_from(GatheringRow)
            .where(GatheringRow.status == Status.INPROGRESS.value)
        )
        if (running or 0) >= limit:
            return None
        oldest = (
            select(GatheringRow.id)
            .where(GatheringRow.status == Status.NEW.value)
            .order_by(GatheringRow.id)
            .limit(1)
        )
        if only is not None:
            oldest = oldest.where(GatheringRow.id.in_(list(only)))
        next_id = await session.scalar(oldest)
        if next_id is None:
            return None
        result = await session.execute(
            claim_update(next_id, holder=lease.holder, lease_until=lease.until())
        )
        row = result.scalars().first()
        await session.commit()
    return None if row is None else record_of(row)


async def put_back(store: GatheringStore, gathering_id: int) -> None:
    """Queue a claimed gathering again, unstarted (claimed by a replica as it stopped)."""
    await store.update(
        gathering_id, status=Status.NEW, started_at=None, claimed_by=None, lease_until=None
    )


async def end_queued(store: GatheringStore, gathering_id: int, reason: str) -> Gathering | None:
    """End a gathering `error` if it is still queued; None when a replica claimed it first."""
    stamp = now()
    async with store.session("cancel the gathering") as session:
        result = await session.execute(
            update(GatheringRow)
            .where(GatheringRow.id == gathering_id, GatheringRow.status == Status.NEW.value)
            .values(
                status=Status.ERROR.value,
                error_reason=reason,
                finished_at=stamp,
                updated_at=stamp,
            )
            .returning(GatheringRow)
        )
        row = result.scalars().first()
        await session.commit()
    return None if row is None else record_of(row)


async def still_queued(store: GatheringStore, ids: Collection[int]) -> set[int]:
    """Those of ``ids`` still queued: the others were run or cancelled by any replica."""
    if not ids:
        return set()
    async with store.session("read the queue") as session:
        found = await session.scalars(
            select(GatheringRow.id).where(
                GatheringRow.id.in_(list(ids)), GatheringRow.status == Status.NEW.value
            )
        )
        return set(found)


async def abandoned(store: GatheringStore, *, keep: Collection[int]) -> list[Gathering]:
    """Queued gatherings held by a replica that is gone: its lease lapsed. Never those of
    ``keep`` (received by this process), and never a live lease, not even one under this
    replica's name: a gathering just received here is held before it is in ``keep``."""
    query = select(*GatheringRow.__table__.columns).where(
        GatheringRow.status == Status.NEW.value,
        GatheringRow.claimed_by.is_not(None),
        lapsed(now()),
    )
    if keep:
        query = query.where(GatheringRow.id.not_in(list(keep)))
    async with store.session("look for abandoned gatherings") as session:
        return [record_of(row) for row in await session.execute(query.order_by(GatheringRow.id))]


def abandoned_reason(gathering: Gathering) -> str:
    return (
        f"replica {gathering.claimed_by} received it and stopped before it started; the "
        "caller's token went with it: submit it again"
    )


async def end_abandoned(store: GatheringStore, *, keep: Collection[int]) -> list[Gathering]:
    """End every ``abandoned`` gathering `error`, saying why; the records ended here (another
    replica may have ended or claimed some first)."""
    ended = []
    for found in await abandoned(store, keep=keep):
        record = await end_queued(store, found.id, abandoned_reason(found))
        if record is not None:
            ended.append(record)
    return ended
