"""A service state made directly with the store module: completed gatherings, their output
logs and archives, as the service would have left them."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from must_gather_api.gatherings.layout import Layout
from must_gather_api.gatherings.records import Status
from must_gather_api.gatherings.store import GatheringStore, now
from must_gather_api.gatherings.tables import GatheringRow
from must_gather_api.parameters import GatheringOptions

_BLOCK = 64 * 1024 * 1024


def database_url(state: Path) -> str:
    return f"sqlite+aiosqlite:///{state / 'gatherings.db'}"


def log_text(size: int) -> bytes:
    """``size`` bytes of must-gather-like output lines."""
    line = "I0101 00:00:00.000000 1 gather.go:42] gathering namespace/openshift-etcd pod/etcd-{n}\n"
    text = "".join(line.format(n=n) for n in range(size // 60 + 1)).encode()
    return text[:size]


def write_archive(path: Path, size: int) -> str:
    """A file of ``size`` incompressible bytes; returns its sha256 (blocking)."""
    digest = hashlib.sha256()
    block = os.urandom(_BLOCK)
    with path.open("wb") as file:
        left = size
        while left:
            chunk = block[: min(left, _BLOCK)]
            file.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


async def archived(state: Path, size: int) -> int:
    """One completed gathering whose archive holds ``size`` bytes; returns its id."""
    await asyncio.to_thread(state.mkdir, parents=True, exist_ok=True)
    layout = Layout(state / "data")
    store = await GatheringStore.open(database_url(state))
    try:
        record = await store.create(GatheringOptions.of(image="bench"), requested_by="bench")
        await asyncio.to_thread(layout.ensure, record.id)
        await asyncio.to_thread(layout.remove_work, record.id)
        sha = await asyncio.to_thread(write_archive, layout.archive(record.id), size)
        await store.update(
            record.id,
            status=Status.COMPLETED,
            started_at=now(),
            finished_at=now(),
            archive_size=size,
            archive_sha256=sha,
            archive_name="must-gather.tar.gz",
        )
        return record.id
    finally:
        await store.close()


def _write_logs(layout: Layout, ids: range, text: bytes) -> None:
    for gathering_id in ids:
        directory = layout.directory(gathering_id)
        directory.mkdir(parents=True, exist_ok=True)
        layout.output_log(gathering_id).write_bytes(text)


async def many(state: Path, count: int, *, output_bytes: int, database: str | None = None) -> None:
    """``count`` completed gatherings (ids 1..count), each with ``output_bytes`` of output;
    in ``state``'s SQLite file unless ``database`` (a SQLAlchemy URL) says where."""
    await asyncio.to_thread(shutil.rmtree, state, ignore_errors=True)
    await asyncio.to_thread(state.mkdir, parents=True)
    url = database or database_url(state)
    store = await GatheringStore.open(url)
    await store.close()
    stamp = now()
    rows = [
        {
            "id": n,
            "created_at": stamp,
            "updated_at": stamp,
            "started_at": stamp,
            "finished_at": stamp,
            "status": Status.COMPLETED.value,
            "custom_name": f"plan:bench-{n}",
            "image": "quay.io/kubev2v/forklift-must-gather",
            "timeout": "20m",
            "options": {},
            "archive_size": 0,
            "archive_name": "",
            "archive_sha256": "",
            "requested_by": "bench",
        }
        for n in range(1, count + 1)
    ]
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(GatheringRow), rows)
            if connection.dialect.name == "postgresql":
                # Explicit ids leave PostgreSQL's sequence at 1: the next POST would collide.
                await connection.execute(
                    text("SELECT setval(pg_get_serial_sequence('gatherings', 'id'), :last)"),
                    {"last": count},
                )
    finally:
        await engine.dispose()
    layout = Layout(state / "data")
    await asyncio.to_thread(_write_logs, layout, range(1, count + 1), log_text(output_bytes))
