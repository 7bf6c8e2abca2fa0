"""Reads of the records that cost one trip off the event loop.

aiosqlite runs each DBAPI call in the connection's thread and wakes the event loop for its
answer: a lookup by id was five such crossings (cursor, execute, fetch, close, rollback),
each a thread wake-up and a hand-over of the interpreter lock. With copies and packing
beside it, those crossings were most of the p99 of ``GET /must-gather/{id}``. On a SQLite
file a read therefore runs whole in one thread, on a synchronous engine (the standard
library's sqlite3) of its own over the same file: WAL lets it read while the service's
engine writes. Elsewhere (PostgreSQL on asyncpg, which needs no threads, and SQLite in
memory, which only the one connection can see) the same read runs through
``AsyncSession.run_sync``.

A read is written once, as a function of a synchronous ``Session``.

Those reads have a thread pool of their own (``THREADS``): in the event loop's default pool,
200 pollers' reads queued ahead of every ``to_thread`` of the gatherings (their output
flushes, their files) and slowed the gatherings threefold.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

THREADS = 2
_P = ParamSpec("_P")
_T = TypeVar("_T")
_U = TypeVar("_U")


@dataclass(frozen=True)
class Then(Generic[_U]):
    """What ``Reads.run_then``'s follow-up gave: its value, or the exception it raised (the
    caller re-raises it where a database error would not be mistaken for it)."""

    value: _U | None = None
    error: Exception | None = None

    def result(self) -> _U | None:
        if self.error is not None:
            raise self.error
        return self.value


def _then(then: Callable[[_T], _U], found: _T) -> Then[_U]:
    try:
        return Then(then(found))
    except Exception as e:  # handed back whole, raised by the caller
        return Then(error=e)


class Reads:
    """Runs reads for ``GatheringStore``; ``close()`` with it."""

    def __init__(self, engine: AsyncEngine, *, on_connect: Any, in_memory: bool) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._engine: Engine | None = None
        if engine.dialect.name == "sqlite" and not in_memory:
            self._engine = create_engine(
                engine.url.set(drivername="sqlite"),
                connect_args={"check_same_thread": False, "timeout": 5},
            )
            event.listen(self._engine, "connect", on_connect)
        self._threaded = (
            sessionmaker(self._engine, expire_on_commit=False) if self._engine else None
        )
        self._pool: ThreadPoolExecutor | None = None

    async def run(
        self, read: Callable[Concatenate[Session, _P], _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        """``read(session, *args, **kwargs)``, in one trip where the driver allows it."""

        def bound(session: Session) -> _T:
            return read(session, *args, **kwargs)

        if self._threaded is not None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                self._threads(), functools.partial(self._in_thread, bound)
            )
        async with self._sessions() as session:
            return await session.run_sync(bound)

    async def run_then(
        self, read: Callable[[Session], _T], then: Callable[[_T], _U]
    ) -> tuple[_T, Then[_U]]:
        """``read(session)``, then ``then`` of what it read: blocking work such as reading
        the record's files, in the same trip where the reads have threads of their own (one
        crossing, not two), in a thread after the read elsewhere."""
        if self._threaded is not None:

            def both() -> tuple[_T, Then[_U]]:
                found = self._in_thread(read)
                return found, _then(then, found)

            return await asyncio.get_running_loop().run_in_executor(self._threads(), both)
        found = await self.run(read)
        return found, await asyncio.to_thread(_then, then, found)

    def _threads(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="store-reads")
        return self._pool

    def _in_thread(self, read: Callable[[Session], _T]) -> _T:
        assert self._threaded is not None
        with self._threaded() as session:
            return read(session)

    async def close(self) -> None:
        if self._engine is None:
            return
        pool, self._pool = self._pool, None
        if pool is None:  # nothing to close, and no thread to start for it
            self._engine.dispose()
            return
        # Closing its connections may checkpoint the database: in its pool, which ends then.
        try:
            await asyncio.get_running_loop().run_in_executor(pool, self._engine.dispose)
        finally:
            pool.shutdown(wait=True)  # its threads are idle: they end at once
