"""Housekeeping leadership: one replica at a time on PostgreSQL, always the one on SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from must_gather_api.gatherings.leadership import Leadership
from must_gather_api.gatherings.store import GatheringStore

pytestmark = pytest.mark.asyncio

INTERVAL = timedelta(seconds=0.05)


def counting(elections: list[str], name: str) -> Callable[[], Coroutine[Any, Any, None]]:
    async def elected() -> None:
        elections.append(name)

    return elected


@pytest.mark.postgres
async def test_one_replica_leads_and_another_follows_when_it_steps_down(
    postgres_database_url: str,
) -> None:
    first = await GatheringStore.open(postgres_database_url)
    second = await GatheringStore.open(postgres_database_url)
    elections: list[str] = []
    a = Leadership(first.engine, interval=INTERVAL, on_elected=counting(elections, "a"))
    b = Leadership(second.engine, interval=INTERVAL, on_elected=counting(elections, "b"))
    try:
        await a.step()
        await b.step()
        assert (a.is_leader, b.is_leader, elections) == (True, False, ["a"])
        await a.step()  # still leading: not elected again
        await b.step()
        assert (a.is_leader, b.is_leader, elections) == (True, False, ["a"])
        # a's run ends (its replica stops): it lets go, and b takes over at its next try.
        running = asyncio.create_task(a.run(), name="leadership-a")
        await asyncio.sleep(0)  # let it start its first round
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        assert not a.is_leader
        await b.step()
        assert (b.is_leader, elections) == (True, ["a", "b"])
    finally:
        await asyncio.gather(a.run_stopped(), b.run_stopped())
        await first.close()
        await second.close()


async def test_the_only_replica_always_leads(tmp_path: Path) -> None:
    store = await GatheringStore.open(f"sqlite+aiosqlite:///{tmp_path / 'g.db'}")
    elections: list[str] = []
    try:
        only = Leadership(store.engine, interval=INTERVAL, on_elected=counting(elections, "a"))
        assert only.is_leader
        await only.run()  # elected once, and nothing to keep up
        assert elections == ["a"]
    finally:
        await store.close()
