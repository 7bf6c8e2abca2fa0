"""A full data volume, and a database that is locked or read-only.

A gathering that fills DATA_DIR ends `error` saying so and leaves no partial file, while
other archives still download and polls answer. A locked or read-only database answers
503 problems, never a 500 or a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest

from kubesim.cluster import Cluster
from support.executors import FakeExecutor
from support.native import executor_for
from support.service import make_settings, running_app

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(120)]

LARGE = "kubesim.local/must-gather-large-output:latest"
ORIGIN = "quay.io/openshift/origin-must-gather:latest"


@contextmanager
def small_filesystem(directory: Path, *, size: str = "4m") -> Iterator[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip() or 'not root'}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)


async def until_finished(client: httpx2.AsyncClient, gathering_id: int) -> dict[str, Any]:
    async with asyncio.timeout(90):
        while True:
            record: dict[str, Any] = (await client.get(f"/must-gather/{gathering_id}")).json()
            if record["status"] in ("completed", "error"):
                return record
            await asyncio.sleep(0.1)  # polling, as a client does


# Known kubesim defect, not the service's: when the copy is aborted by the full disk, one of
# the simulated container's stdout pipes is sometimes left open and garbage-collected after
# the test. Until it is found, that warning must not fail what this test is about.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_a_gathering_that_fills_the_data_volume_ends_in_error_and_others_still_serve(
    kubesim: Cluster, tmp_path: Path
) -> None:
    with small_filesystem(tmp_path / "small") as data_dir:
        settings = make_settings(tmp_path, data_dir=str(data_dir))
        executor = await executor_for(kubesim, tmp_path)
        async with running_app(settings, executor=executor) as (_app, client):
            first = (await client.post("/must-gather", json={"image": ORIGIN})).json()
            done = await until_finished(client, first["id"])
            assert done["status"] == "completed", done["error-reason"]

            big = await client.post(
                "/must-gather",
                json={"image": LARGE, "command": "OUTPUT_BYTES=40000000 /usr/bin/gather"},
            )
            record = await until_finished(client, big.json()["id"])
            assert record["status"] == "error"
            assert "no space left" in record["error-reason"].lower(), record["error-reason"]
            directory = data_dir / "gatherings" / str(record["id"])
            leftover = [p.name for p in directory.iterdir()] if directory.exists() else []
            # Nothing half-written: the output, and an archive with its index and summary.
            beside_archive = {"archive", "archive.index", "summary.json", "summary.brief.json"}
            allowed = {"output.log"} | (beside_archive if "archive" in leftover else set())
            assert set(leftover) <= allowed, leftover
            if record["archive-size"]:
                assert (await client.get(f"/must-gather/{record['id']}/data")).status_code == 200

            # The earlier archive still downloads whole; polls and lists still answer.
            data = await client.get(f"/must-gather/{first['id']}/data")
            assert data.status_code == 200
            assert hashlib.sha256(data.content).hexdigest() == done["archive-sha256"]
            assert (await client.get("/must-gather")).status_code == 200
            assert (await client.get("/readyz")).status_code == 200


@pytest.mark.timeout(90)
async def test_a_locked_database_answers_503_not_500(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with running_app(settings, executor=FakeExecutor()) as (_app, client):
        assert (await client.post("/must-gather", json={"image": "fake/ok"})).status_code == 201
        holder = sqlite3.connect(settings.db_path, isolation_level=None, timeout=1)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            response = await client.post("/must-gather", json={"image": "fake/ok"})
            assert response.status_code == 503, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            assert "locked" in response.json()["detail"]
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert (await client.post("/must-gather", json={"image": "fake/ok"})).status_code == 201


async def test_a_database_on_a_full_volume_answers_503_not_500(tmp_path: Path) -> None:
    # A remount read-only is refused while SQLite holds the file open for writing ("busy"),
    # so the write failure is made the other way a volume stops taking writes: full.
    with small_filesystem(tmp_path / "db", size="2m") as db_dir:
        settings = make_settings(tmp_path, db_path=str(db_dir / "gatherings.db"))
        async with running_app(settings, executor=FakeExecutor()) as (_app, client):
            created = await client.post("/must-gather", json={"image": "fake/ok"})
            assert created.status_code == 201
            await until_finished(client, created.json()["id"])
            filler = db_dir / "filler"
            with filler.open("wb") as file, contextlib.suppress(OSError):
                while True:
                    file.write(b"\0" * 65536)
                    file.flush()
            try:
                for attempt in range(20):  # noqa: B007 - named in the message below
                    response = await client.post(
                        "/must-gather", json={"image": "fake/ok", "custom-name": "x" * 250}
                    )
                    assert response.status_code in (201, 503), response.text
                    if response.status_code == 503:
                        break
                assert response.status_code == 503, f"{attempt} writes fitted a full volume"
                assert response.headers["content-type"].startswith("application/problem+json")
                polled = await client.get(f"/must-gather/{created.json()['id']}")
                assert polled.status_code in (200, 503), polled.text
            finally:
                filler.unlink()
            again = await client.post("/must-gather", json={"image": "fake/ok"})
            assert again.status_code == 201, again.text
