"""Where gathering records are kept: SQLite by default, PostgreSQL for several replicas.

The SQL is portable; the dialect-specific code sets SQLite's pragmas, guards PostgreSQL
migrations with an advisory lock so replicas starting together do not race, and (reads.py)
reads a SQLite file in one thread instead of through aiosqlite.
Database errors leave this module as ``StoreUnavailable`` and nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Row, delete, event, func, select, text, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.dml import ReturningUpdate

from must_gather_api.errors import GatheringNotFound, StoreUnavailable
from must_gather_api.gatherings.reads import Reads
from must_gather_api.gatherings.records import (
    REQUEST_COLUMNS,
    Gathering,
    Status,
    loaded_request,
    stored_request,
)
from must_gather_api.gatherings.tables import GatheringRow, NamespaceRow
from must_gather_api.parameters import GatheringOptions

_U = TypeVar("_U")

log = logging.getLogger(__name__)

_MIGRATIONS = Path(__file__).with_name("migrations")
# The id column is a 32-bit INTEGER on PostgreSQL: a larger number cannot be an id, and
# binding it would fail the query instead of finding nothing.
_MAX_ID = 2**31 - 1


def now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _maybe_aware(value: datetime | None) -> datetime | None:
    return None if value is None else _aware(value)


def record_of(row: GatheringRow | Row[Any]) -> Gathering:
    request = loaded_request({name: getattr(row, name) for name in REQUEST_COLUMNS}, row.options)
    created = _aware(row.created_at)
    updated = _aware(row.updated_at)
    return Gathering(
        id=row.id,
        created_at=created,
        updated_at=updated,
        started_at=_maybe_aware(row.started_at),
        finished_at=_maybe_aware(row.finished_at),
        status=Status(row.status),
        request=request,
        error_reason=row.error_reason or "",
        archive_size=row.archive_size or 0,
        archive_name=row.archive_name or "",
        archive_sha256=row.archive_sha256 or "",
        archive_removed=row.archive_removed or "",
        requested_by=row.requested_by or "",
        claimed_by=row.claimed_by or "",
        lease_until=_maybe_aware(row.lease_until),
    )


def _find(session: Session, reference: str, requested_by: str | None) -> Gathering | None:
    """``GatheringStore.find``'s read (reads.py runs it)."""
    # ASCII digits only: int() also reads other scripts' digits (U+0661 is 1), and a
    # custom-name made of them would be unreachable.
    numeric = reference.isascii() and reference.isdecimal() and len(reference) <= 10
    if numeric and int(reference) <= _MAX_ID:
        row = session.get(GatheringRow, int(reference))
        if row is not None and requested_by in (None, row.requested_by):
            return record_of(row)
    query = (
        select(GatheringRow)
        .where(GatheringRow.custom_name == reference)
        .order_by(GatheringRow.id.desc())
        .limit(1)
    )
    if requested_by is not None:
        query = query.where(GatheringRow.requested_by == requested_by)
    found = session.scalars(query).first()
    return record_of(found) if found is not None else None


class GatheringStore:
    """Async access to the records. Open with ``GatheringStore.open(url)``."""

    def __init__(self, engine: AsyncEngine, reads: Reads) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._reads = reads

    @classmethod
    async def open(cls, url: str) -> GatheringStore:
        """Connect, apply the migrations, and return the store."""
        options: dict[str, Any] = {}
        if url.startswith("sqlite"):
            options["connect_args"] = {"check_same_thread": False, "timeout": 5}
            if "mode=memory" in url or url.endswith(":memory:"):
                # One shared connection, or every session would see its own empty database.
                options["poolclass"] = StaticPool
        try:
            engine = create_async_engine(url, **options)
        except (SQLAlchemyError, ValueError) as e:
            raise StoreUnavailable(f"cannot use the database {engine_name(url)}: {e}") from e
        except ImportError as e:
            # Plain postgresql:// names psycopg; the service ships asyncpg only.
            raise StoreUnavailable(
                f"cannot use the database {engine_name(url)}: its driver is not installed ({e}); "
                "use postgresql+asyncpg:// or sqlite+aiosqlite://"
            ) from e
        in_memory = "poolclass" in options
        pragmas = _sqlite_pragmas(wal=not in_memory)
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", pragmas)
        store = cls(engine, Reads(engine, on_connect=pragmas, in_memory=in_memory))
        try:
            await store.migrate()
        except StoreUnavailable as e:
            await store.close()
            raise StoreUnavailable(f"{engine_name(url)}: {e.message}") from e
        except BaseException:
            await store.close()
            raise
        return store

    async def close(self) -> None:
        await self._reads.close()
        await self._engine.dispose()

    @property
    def engine(self) -> AsyncEngine:
        """For connections of their own (``leadership`` holds one while it leads)."""
        return self._engine

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    async def migrate(self) -> None:
        async with (
            self._guard("apply the database migrations"),
            self._engine.begin() as connection,
        ):
            if self.dialect == "postgresql":
                await connection.execute(text("SELECT pg_advisory_xact_lock(724031)"))
            await connection.run_sync(_upgrade)

    @asynccontextmanager
    async def session(self, action: str) -> AsyncIterator[AsyncSession]:
        """A session whose database errors leave as ``StoreUnavailable`` (``cannot action``),
        for the store's companions (``leases``)."""
        async with self._guard(action), self._sessions() as session:
            yield session

    async def ping(self) -> None:
        async with self._guard("reach the database"), self._sessions() as session:
            await session.execute(select(1))

    async def create(
        self,
        request: GatheringOptions,
        *,
        requested_by: str = "",
        held_by: str | None = None,
        held_until: datetime | None = None,
    ) -> Gathering:
        """A queued gathering; ``held_by`` a replica until ``held_until`` when only that
        replica may start it (queue.py)."""
        stamp = now()
        columns, options = stored_request(request)
        row = GatheringRow(
            created_at=stamp,
            updated_at=stamp,
            status=Status.NEW.value,
            options=options,
            requested_by=requested_by,
            claimed_by=held_by,
            lease_until=held_until,
            **columns,
        )
        async with self._guard("store the gathering"), self._sessions() as session:
            session.add(row)
            await session.commit()
            return record_of(row)

    async def get(self, gathering_id: int) -> Gathering:
        if not 0 < gathering_id <= _MAX_ID:
            raise GatheringNotFound(f"no gathering has id {gathering_id}")
        async with self._guard("read the gathering"), self._sessions() as session:
            row = await session.get(GatheringRow, gathering_id)
        if row is None:
            raise GatheringNotFound(f"no gathering has id {gathering_id}")
        return record_of(row)

    async def find(self, reference: str, *, requested_by: str | None = None) -> Gathering:
        """By numeric id first, then the newest gathering whose custom-name is ``reference``;
        with ``requested_by``, only among that user's (others' read as not existing)."""
        async with self._guard("read the gathering"):
            found = await self._reads.run(_find, reference, requested_by)
        if found is None:
            raise GatheringNotFound(f"no gathering has the id or custom-name {reference!r}")
        return found

    async def find_then(
        self, reference: str, then: Callable[[Gathering], _U], *, requested_by: str | None = None
    ) -> tuple[Gathering, _U]:
        """``find``, and ``then`` of the gathering found (blocking: reading its files) in
        the same trip off the event loop where the store allows it."""
        async with self._guard("read the gathering"):

            def read(session: Session) -> Gathering | None:
                return _find(session, reference, requested_by)

            def follow(found: Gathering | None) -> tuple[_U] | None:
                return None if found is None else (then(found),)

            found, after = await self._reads.run_then(read, follow)
        if found is None:
            raise GatheringNotFound(f"no gathering has the id or custom-name {reference!r}")
        followed = after.result()
        assert followed is not None  # followed up whenever found
        return found, followed[0]

    async def find_all(
        self,
        *,
        status: Status | None = None,
        custom_name: str | None = None,
        requested_by: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = False,
    ) -> list[Gathering]:
        """Gatherings in ascending id order (``newest_first``: descending), only those
        matching what is given."""
        # Plain rows, not ORM objects: a poll of 10,000 records spent half its time building
        # and tracking instances that are only read once.
        order = GatheringRow.id.desc() if newest_first else GatheringRow.id
        query = select(*GatheringRow.__table__.columns).order_by(order)
        if status is not None:
            query = query.where(GatheringRow.status == status.value)
        if custom_name is not None:
            query = query.where(GatheringRow.custom_name == custom_name)
        if requested_by is not None:
            query = query.where(GatheringRow.requested_by == requested_by)
        query = query.offset(offset)
        if limit is not None:
            query = query.limit(limit)
        async with self._guard("list the gatherings"), self._sessions() as session:
            return [record_of(row) for row in await session.execute(query)]

    async def ids(self) -> set[int]:
        async with self._guard("list the gatherings"), self._sessions() as session:
            return set(await session.scalars(select(GatheringRow.id)))

    async def count_active(self, *, requested_by: str | None = None) -> tuple[int, int]:
        """(queued, running) gatherings, of ``requested_by`` only when given: the quotas."""
        query = (
            select(GatheringRow.status, func.count())
            .where(GatheringRow.status.in_([Status.NEW.value, Status.INPROGRESS.value]))
            .group_by(GatheringRow.status)
        )
        if requested_by is not None:
            query = query.where(GatheringRow.requested_by == requested_by)
        async with self._guard("count the gatherings"), self._sessions() as session:
            counted = {Status(name): number for name, number in (await session.execute(query))}
        return counted.get(Status.NEW, 0), counted.get(Status.INPROGRESS, 0)

    async def count_by_status(self) -> dict[Status, int]:
        query = select(GatheringRow.status, func.count()).group_by(GatheringRow.status)
        async with self._guard("count the gatherings"), self._sessions() as session:
            counted = {Status(name): number for name, number in (await session.execute(query))}
        return {status: counted.get(status, 0) for status in Status}

    async def update(self, gathering_id: int, **changes: Any) -> Gathering:
        """Change columns of one record; ``updated_at`` follows."""
        changes = {**changes, "updated_at": now()}
        if isinstance(changes.get("status"), Status):
            changes["status"] = changes["status"].value
        async with self._guard("update the gathering"), self._sessions() as session:
            result = await session.execute(
                update(GatheringRow)
                .where(GatheringRow.id == gathering_id)
                .values(**changes)
                .returning(GatheringRow)
            )
            row = result.scalars().first()
            await session.commit()
        if row is None:
            raise GatheringNotFound(f"no gathering has id {gathering_id}")
        return record_of(row)

    async def claim(
        self, gathering_id: int, *, holder: str = "", lease_until: datetime | None = None
    ) -> Gathering | None:
        """Move a queued gathering to running, held by ``holder`` until ``lease_until``;
        None when it is no longer queued.

        The conditional update makes the claim atomic (PostgreSQL re-checks the condition
        once it holds the row's lock), so two replicas can never run the same gathering.
        """
        async with self._guard("start the gathering"), self._sessions() as session:
            result = await session.execute(
                claim_update(gathering_id, holder=holder, lease_until=lease_until)
            )
            row = result.scalars().first()
            await session.commit()
        return None if row is None else record_of(row)

    async def delete(self, gathering_id: int) -> None:
        async with self._guard("delete the gathering"), self._sessions() as session:
            await session.execute(delete(GatheringRow).where(GatheringRow.id == gathering_id))
            await session.commit()

    async def finished(self, *, before: datetime | None = None) -> list[Gathering]:
        """Finished gatherings, oldest finish first, optionally only those finished before."""
        query = (
            select(GatheringRow)
            .where(GatheringRow.status.in_([Status.COMPLETED.value, Status.ERROR.value]))
            .order_by(
                func.coalesce(GatheringRow.finished_at, GatheringRow.updated_at), GatheringRow.id
            )
        )
        if before is not None:
            query = query.where(
                func.coalesce(GatheringRow.finished_at, GatheringRow.updated_at) < before
            )
        async with self._guard("list finished gatherings"), self._sessions() as session:
            return [record_of(row) for row in await session.scalars(query)]

    # -- the namespaces gatherings create (``executors.base.NamespaceLedger``) ------------

    async def record_namespace(self, gathering_id: int, name: str) -> None:
        async with self._guard("record a namespace"), self._sessions() as session:
            if await session.get(NamespaceRow, name) is None:
                session.add(NamespaceRow(name=name, gathering_id=gathering_id, recorded_at=now()))
            await session.commit()

    async def forget_namespace(self, name: str) -> None:
        async with self._guard("forget a namespace"), self._sessions() as session:
            await session.execute(delete(NamespaceRow).where(NamespaceRow.name == name))
            await session.commit()

    async def recorded_namespaces(
        self, gathering_id: int | None = None
    ) -> tuple[tuple[int, str], ...]:
        """(gathering, namespace) of every namespace recorded and not seen deleted."""
        query = select(NamespaceRow.gathering_id, NamespaceRow.name).order_by(NamespaceRow.name)
        if gathering_id is not None:
            query = query.where(NamespaceRow.gathering_id == gathering_id)
        async with self._guard("list recorded namespaces"), self._sessions() as session:
            return tuple((row[0], row[1]) for row in await session.execute(query))

    async def leftover_namespaces(self) -> tuple[tuple[int, str], ...]:
        """Recorded namespaces of gatherings that are over (or whose record is gone): each
        is still in the cluster unless the service saw it deleted."""
        query = (
            select(NamespaceRow.gathering_id, NamespaceRow.name)
            .outerjoin(GatheringRow, GatheringRow.id == NamespaceRow.gathering_id)
            .where(
                GatheringRow.id.is_(None)
                | GatheringRow.status.in_([Status.COMPLETED.value, Status.ERROR.value])
            )
            .order_by(NamespaceRow.name)
        )
        async with self._guard("list leftover namespaces"), self._sessions() as session:
            return tuple((row[0], row[1]) for row in await session.execute(query))

    @asynccontextmanager
    async def _guard(self, action: str) -> AsyncIterator[None]:
        try:
            yield
        except (DBAPIError, SQLAlchemyError, OSError) as e:
            raise StoreUnavailable(f"cannot {action}: the database failed ({_brief(e)})") from e


def claim_update(
    gathering_id: int, *, holder: str, lease_until: datetime | None
) -> ReturningUpdate[Any]:
    """The one claim: a queued gathering moves to running, held by ``holder``. Conditional
    on the status, so only one claim of a gathering can match (``claim``, ``claim_next``)."""
    stamp = now()
    return (
        update(GatheringRow)
        .where(GatheringRow.id == gathering_id, GatheringRow.status == Status.NEW.value)
        .values(
            status=Status.INPROGRESS.value,
            started_at=stamp,
            updated_at=stamp,
            claimed_by=holder or None,
            lease_until=lease_until,
        )
        .returning(GatheringRow)
    )


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _sqlite_pragmas(*, wal: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            # Long enough to ride out a checkpoint, short enough that a locked database
            # answers 503 while the caller still waits.
            cursor.execute("PRAGMA busy_timeout=5000")
            if wal:
                # Readers never wait for the writer; NORMAL is durable enough with WAL.
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    return on_connect


def _brief(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    return f"{type(original).__name__}: {str(original).splitlines()[0] if str(original) else ''}"


def engine_name(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, _, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    # The last "@" ends the credentials: an unencoded "@" may be part of the password.
    host = authority.rpartition("@")[2]
    return f"{scheme}://{host}{slash}{path}"
