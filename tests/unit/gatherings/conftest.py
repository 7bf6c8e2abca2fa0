"""Two stores on one database, as two replicas of one deployment open it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from must_gather_api.gatherings.store import GatheringStore
from support.postgres import fresh_database

SQLITE = "sqlite-file"
POSTGRES = "postgresql"


@pytest_asyncio.fixture(params=[SQLITE, pytest.param(POSTGRES, marks=pytest.mark.postgres)])
async def replicas(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[GatheringStore, GatheringStore]]:
    """Two stores on one database. PostgreSQL skips (saying why) only when no server can
    be started: ``postgres_server_url`` does that."""
    if request.param == POSTGRES:
        async with fresh_database(request.getfixturevalue("postgres_server_url")) as url:
            first, second = await GatheringStore.open(url), await GatheringStore.open(url)
            try:
                yield first, second
            finally:
                await first.close()
                await second.close()
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'gatherings.db'}"
        first, second = await GatheringStore.open(url), await GatheringStore.open(url)
        try:
            yield first, second
        finally:
            await first.close()
            await second.close()
