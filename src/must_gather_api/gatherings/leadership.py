"""Which replica does the housekeeping: cleanup by age and size, orphaned work trees, stale
namespaces. One at a time, so two never remove the same files or race on the same records.

With PostgreSQL the leader is the replica holding a session-level advisory lock on a
connection of its own, kept open while it leads. PostgreSQL releases the lock when that
connection ends, so a replica that dies (its socket closed by the kernel, or found dead by
TCP keepalive) hands leadership over without waiting for a clock: the others try to take
the lock every ``interval``. The leader checks its connection as often and steps down
when it fails. With SQLite the one replica always leads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# Any constant no other advisory lock of ours uses (724031 migrations, 724032 the queue).
_LEADER_LOCK = 724033
_CALL_TIMEOUT = 10.0


class Leadership:
    """``run`` (a task) keeps trying to lead; ``is_leader`` says whether this replica leads;
    ``on_elected`` runs each time it becomes the leader."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        interval: timedelta,
        on_elected: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._engine = engine
        self._interval = interval.total_seconds()
        self._on_elected = on_elected
        self._connection: AsyncConnection | None = None
        self._always = engine.dialect.name != "postgresql"

    @property
    def is_leader(self) -> bool:
        return self._always or self._connection is not None

    async def run(self) -> None:
        if self._always:
            await self._elected()
            return
        try:
            while True:
                await self.step()
                await asyncio.sleep(self._interval)
        finally:
            await asyncio.shield(self._step_down())

    async def step(self) -> None:
        """One round: try to lead, or check that this replica still does."""
        if self._always:
            return
        try:
            if self._connection is None:
                await self._try_to_lead()
            else:
                await self._still_leading()
        except Exception as e:  # a failed store: try again next round
            log.warning("housekeeping leadership: the database failed (%s)", e)
            await self._step_down()

    async def run_stopped(self) -> None:
        """Let go of the lead (for those that call ``step`` instead of ``run``)."""
        await self._step_down()

    async def _try_to_lead(self) -> None:
        connection = await self._engine.connect()
        try:
            async with asyncio.timeout(_CALL_TIMEOUT):
                won = await connection.scalar(text(f"SELECT pg_try_advisory_lock({_LEADER_LOCK})"))
                # Autobegun: end it, or the connection sits "idle in transaction".
                await connection.commit()
        except BaseException:
            await connection.close()
            raise
        if not won:
            await connection.close()
            return
        self._connection = connection
        log.info("this replica now leads the housekeeping (cleanup, stale namespaces)")
        await self._elected()

    async def _still_leading(self) -> None:
        assert self._connection is not None
        async with asyncio.timeout(_CALL_TIMEOUT):
            await self._connection.execute(text("SELECT 1"))
            await self._connection.commit()

    async def _step_down(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        log.info("this replica no longer leads the housekeeping")
        try:
            # Closing the connection releases the lock; an unlock first returns it at once
            # even if the pool keeps the connection.
            async with asyncio.timeout(_CALL_TIMEOUT):
                await connection.execute(text(f"SELECT pg_advisory_unlock({_LEADER_LOCK})"))
                await connection.commit()
        except Exception:
            await connection.invalidate()
        finally:
            await connection.close()

    async def _elected(self) -> None:
        if self._on_elected is not None:
            try:
                await self._on_elected()
            except Exception:
                log.exception("housekeeping at election failed")
