"""The gathering store against SQLite (file and both in-memory forms) and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from must_gather_api.errors import GatheringNotFound, StoreUnavailable
from must_gather_api.gatherings.reads import Reads
from must_gather_api.gatherings.records import Gathering, Status
from must_gather_api.gatherings.store import GatheringStore, engine_name, now
from must_gather_api.parameters import GatheringOptions
from must_gather_api.settings import load_settings
from support.postgres import fresh_database
from support.service import free_port

FILE = "sqlite-file"
MEMORY = "sqlite-memory"
SHARED_MEMORY = "sqlite-shared-memory"
POSTGRES = "postgresql"
BACKENDS = [FILE, MEMORY, SHARED_MEMORY, pytest.param(POSTGRES, marks=pytest.mark.postgres)]
# Backends where a second store (another replica) can open the same database.
SHARED_BACKENDS = [FILE, pytest.param(POSTGRES, marks=pytest.mark.postgres)]


@pytest_asyncio.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    backend = request.param
    if backend == POSTGRES:
        async with fresh_database(request.getfixturevalue("postgres_server_url")) as url:
            yield url
    elif backend == FILE:
        yield load_settings({"DB_PATH": str(tmp_path / "gatherings.db")}).database_address()
    elif backend == MEMORY:
        yield load_settings({"DB_PATH": ":memory:"}).database_address()
    else:
        yield load_settings({"DB_PATH": "file::memory:?cache=shared"}).database_address()


@pytest_asyncio.fixture
async def store(database_url: str) -> AsyncIterator[GatheringStore]:
    opened = await GatheringStore.open(database_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest_asyncio.fixture(params=SHARED_BACKENDS)
async def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == POSTGRES:
        async with fresh_database(request.getfixturevalue("postgres_server_url")) as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'gatherings.db'}"


@pytest.mark.asyncio
async def test_create_stores_the_request_and_starts_new(store: GatheringStore) -> None:
    request = GatheringOptions.of(
        custom_name="plan:p1:uid",
        image="quay.io/example/gather:v1",
        command="PLAN=p1 /usr/bin/targeted",
        timeout="15m",
        since="1h",
        images=["a", "b"],
    )
    before = now()
    created = await store.create(request, requested_by="alice")
    assert created.status is Status.NEW
    assert created.request == request
    assert created.requested_by == "alice"
    assert created.created_at == created.updated_at
    assert before <= created.created_at <= now()
    assert created.created_at.tzinfo is not None
    assert (created.started_at, created.finished_at) == (None, None)
    assert (created.archive_size, created.archive_name, created.archive_sha256) == (0, "", "")
    assert await store.get(created.id) == created


@pytest.mark.asyncio
async def test_get_unknown_ids_are_not_found(store: GatheringStore) -> None:
    await store.create(GatheringOptions.of())
    for missing in (2, 0, -1, 2**31, 2**40):
        with pytest.raises(GatheringNotFound, match=str(missing)):
            await store.get(missing)


@pytest.mark.asyncio
async def test_find_by_numeric_id_first(store: GatheringStore) -> None:
    first = await store.create(GatheringOptions.of(custom_name="2"))
    second = await store.create(GatheringOptions.of(custom_name="other"))
    # A custom-name equal to an existing id is shadowed by that id, as before.
    assert (await store.find("2")).id == second.id
    assert (await store.find("1")).id == first.id
    assert (await store.find("01")).id == first.id


@pytest.mark.asyncio
async def test_find_newest_custom_name_wins(store: GatheringStore) -> None:
    await store.create(GatheringOptions.of(custom_name="plan:p1"))
    await store.create(GatheringOptions.of(custom_name="plan:p2"))
    newest = await store.create(GatheringOptions.of(custom_name="plan:p1"))
    assert (await store.find("plan:p1")).id == newest.id


@pytest.mark.asyncio
async def test_find_numeric_custom_name_without_such_id(store: GatheringStore) -> None:
    named = await store.create(GatheringOptions.of(custom_name="42"))
    assert (await store.find("42")).id == named.id


@pytest.mark.parametrize("name", ["99999999999", "2147483648", "1" * 30, "\u0661", "\uff11"])
@pytest.mark.asyncio
async def test_find_names_that_only_look_numeric(store: GatheringStore, name: str) -> None:
    # Numbers past the id range, and digits of other scripts (Arabic-Indic, full-width),
    # are custom-names; the first record has id 1 and must not answer for them.
    await store.create(GatheringOptions.of(custom_name="decoy"))
    named = await store.create(GatheringOptions.of(custom_name=name))
    assert (await store.find(name)).id == named.id


@pytest.mark.asyncio
async def test_find_in_a_sqlite_file_takes_one_trip_off_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lookup on a SQLite file runs whole in one thread of the reads' own pool (reads.py),
    not as one aiosqlite call per DBAPI step; it still sees what the service's own engine
    just committed."""
    import aiosqlite.core

    url = load_settings({"DB_PATH": str(tmp_path / "gatherings.db")}).database_address()
    store = await GatheringStore.open(url)
    try:
        named = await store.create(GatheringOptions.of(custom_name="plan:p1"))
        calls: list[str] = []
        real_execute: Any = aiosqlite.core.Connection._execute
        real_in_thread: Any = Reads._in_thread
        threads: list[str] = []

        async def counted(self: object, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            calls.append(getattr(fn, "__name__", "?"))
            return await real_execute(self, fn, *args, **kwargs)

        def noting(self: Reads, read: Callable[..., Any]) -> Any:
            threads.append(threading.current_thread().name)
            return real_in_thread(self, read)

        monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
        monkeypatch.setattr(Reads, "_in_thread", noting)
        assert (await store.find(str(named.id))).request.custom_name == "plan:p1"
        assert (await store.find("plan:p1")).id == named.id
        with pytest.raises(GatheringNotFound):
            await store.find("plan:p2")
        assert calls == []
        # One trip each, in the reads' own pool: never queued behind the default pool's work.
        assert len(threads) == 3
        assert all(name.startswith("store-reads") for name in threads), threads
    finally:
        await store.close()


@pytest.mark.asyncio
async def test_find_then_follows_up_what_it_found(store: GatheringStore) -> None:
    named = await store.create(GatheringOptions.of(custom_name="plan:p1"))
    seen: list[int] = []

    def then(gathering: Gathering) -> str:
        seen.append(gathering.id)
        return f"files of {gathering.id}"

    found, followed = await store.find_then("plan:p1", then)
    assert (found.id, followed) == (named.id, f"files of {named.id}")
    with pytest.raises(GatheringNotFound):
        await store.find_then("plan:p2", then)
    with pytest.raises(GatheringNotFound):  # another user's reads as not there
        await store.find_then(str(named.id), then, requested_by="someone-else")
    assert seen == [named.id]  # nothing to follow up when nothing was found

    def unreadable(gathering: Gathering) -> str:
        raise PermissionError(13, "Permission denied")

    # A file's error is the file's, not reported as the database failing.
    with pytest.raises(PermissionError):
        await store.find_then(str(named.id), unreadable)


@pytest.mark.asyncio
async def test_find_then_on_a_sqlite_file_is_one_trip(tmp_path: Path) -> None:
    """The lookup and its follow-up run in one thread of the reads' own pool."""
    url = load_settings({"DB_PATH": str(tmp_path / "gatherings.db")}).database_address()
    store = await GatheringStore.open(url)
    try:
        named = await store.create(GatheringOptions.of())
        read_in: list[str] = []
        real_in_thread: Any = Reads._in_thread

        def noting(self: Reads, read: Callable[..., Any]) -> Any:
            read_in.append(threading.current_thread().name)
            return real_in_thread(self, read)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Reads, "_in_thread", noting)
            _, followed_in = await store.find_then(
                str(named.id), lambda gathering: threading.current_thread().name
            )
        assert read_in == [followed_in]
        assert followed_in.startswith("store-reads")
    finally:
        await store.close()


@pytest.mark.asyncio
async def test_find_unknown_reference(store: GatheringStore) -> None:
    await store.create(GatheringOptions.of(custom_name="known"))
    for reference in ("unknown", "7", "", "99999999999"):
        with pytest.raises(GatheringNotFound):
            await store.find(reference)


@pytest.mark.asyncio
async def test_list_is_ascending_and_filters(store: GatheringStore) -> None:
    a = await store.create(GatheringOptions.of(custom_name="x"), requested_by="alice")
    b = await store.create(GatheringOptions.of(custom_name="y"), requested_by="bob")
    c = await store.create(GatheringOptions.of(custom_name="x"), requested_by="bob")
    d = await store.create(GatheringOptions.of(), requested_by="alice")
    await store.update(b.id, status=Status.COMPLETED)
    await store.update(d.id, status=Status.ERROR)

    def ids(found: list[Gathering]) -> list[int]:
        return [g.id for g in found]

    assert ids(await store.find_all()) == [a.id, b.id, c.id, d.id]
    assert ids(await store.find_all(status=Status.NEW)) == [a.id, c.id]
    assert ids(await store.find_all(status=Status.COMPLETED)) == [b.id]
    assert ids(await store.find_all(status=Status.INPROGRESS)) == []
    assert ids(await store.find_all(custom_name="x")) == [a.id, c.id]
    assert ids(await store.find_all(requested_by="bob")) == [b.id, c.id]
    assert ids(await store.find_all(requested_by="bob", custom_name="x")) == [c.id]
    assert ids(await store.find_all(limit=2)) == [a.id, b.id]
    assert ids(await store.find_all(limit=2, offset=1)) == [b.id, c.id]
    assert ids(await store.find_all(offset=3)) == [d.id]
    assert ids(await store.find_all(offset=10)) == []
    assert ids(await store.find_all(limit=0)) == []
    assert await store.ids() == {a.id, b.id, c.id, d.id}


@pytest.mark.asyncio
async def test_update_changes_columns_and_moves_updated_at(store: GatheringStore) -> None:
    created = await store.create(GatheringOptions.of())
    finished_at = created.created_at + timedelta(seconds=5)
    updated = await store.update(
        created.id,
        status=Status.COMPLETED,
        finished_at=finished_at,
        archive_name="must-gather.tar.gz",
        archive_size=1234,
        archive_sha256="ab" * 32,
    )
    assert updated.status is Status.COMPLETED
    assert updated.finished_at == finished_at
    assert (updated.archive_name, updated.archive_size) == ("must-gather.tar.gz", 1234)
    assert updated.updated_at > created.updated_at
    assert updated.created_at == created.created_at
    assert updated.has_archive
    assert await store.get(created.id) == updated


@pytest.mark.asyncio
async def test_update_unknown_id(store: GatheringStore) -> None:
    with pytest.raises(GatheringNotFound):
        await store.update(5, status=Status.ERROR)


@pytest.mark.asyncio
async def test_claim_moves_new_to_inprogress_once(store: GatheringStore) -> None:
    created = await store.create(GatheringOptions.of())
    claimed = await store.claim(created.id)
    assert claimed is not None
    assert claimed.status is Status.INPROGRESS
    assert claimed.started_at is not None and claimed.started_at >= created.created_at
    assert await store.claim(created.id) is None
    assert (await store.get(created.id)).status is Status.INPROGRESS

    finished = await store.create(GatheringOptions.of())
    await store.update(finished.id, status=Status.COMPLETED)
    assert await store.claim(finished.id) is None
    assert await store.claim(999) is None


@pytest.mark.asyncio
async def test_concurrent_claims_on_one_store_have_one_winner(store: GatheringStore) -> None:
    for _ in range(10):
        created = await store.create(GatheringOptions.of())
        results = await asyncio.gather(store.claim(created.id), store.claim(created.id))
        assert sum(result is not None for result in results) == 1, results


@pytest.mark.asyncio
async def test_concurrent_claims_from_two_replicas_have_one_winner(shared_url: str) -> None:
    first = await GatheringStore.open(shared_url)
    second = await GatheringStore.open(shared_url)
    try:
        for _ in range(10):
            created = await first.create(GatheringOptions.of())
            results = await asyncio.gather(first.claim(created.id), second.claim(created.id))
            assert sum(result is not None for result in results) == 1, results
    finally:
        await first.close()
        await second.close()


@pytest.mark.asyncio
async def test_delete(store: GatheringStore) -> None:
    kept = await store.create(GatheringOptions.of())
    gone = await store.create(GatheringOptions.of())
    await store.delete(gone.id)
    with pytest.raises(GatheringNotFound):
        await store.get(gone.id)
    assert await store.ids() == {kept.id}
    await store.delete(gone.id)  # deleting again is not an error
    await store.delete(12345)


@pytest.mark.asyncio
async def test_ids_are_never_reused_after_deleting_the_highest(store: GatheringStore) -> None:
    await store.create(GatheringOptions.of())
    highest = await store.create(GatheringOptions.of())
    await store.delete(highest.id)
    following = await store.create(GatheringOptions.of())
    assert following.id > highest.id


@pytest.mark.asyncio
async def test_finished_oldest_first_and_before(store: GatheringStore) -> None:
    base = now() - timedelta(days=10)
    late = await store.create(GatheringOptions.of(custom_name="late"))
    early = await store.create(GatheringOptions.of(custom_name="early"))
    middle = await store.create(GatheringOptions.of(custom_name="middle"))
    running = await store.create(GatheringOptions.of(custom_name="running"))
    queued = await store.create(GatheringOptions.of(custom_name="queued"))
    # No finished_at (a record from the old schema): updated_at, just now, stands in.
    unstamped = await store.create(GatheringOptions.of(custom_name="unstamped"))
    await store.update(late.id, status=Status.COMPLETED, finished_at=base + timedelta(days=3))
    await store.update(early.id, status=Status.ERROR, finished_at=base + timedelta(days=1))
    await store.update(middle.id, status=Status.COMPLETED, finished_at=base + timedelta(days=2))
    await store.update(running.id, status=Status.INPROGRESS)
    await store.update(unstamped.id, status=Status.COMPLETED)
    assert (await store.get(queued.id)).status is Status.NEW

    assert [g.id for g in await store.finished()] == [early.id, middle.id, late.id, unstamped.id]
    cutoff = base + timedelta(days=2, hours=12)
    assert [g.id for g in await store.finished(before=cutoff)] == [early.id, middle.id]
    assert await store.finished(before=base) == []


@pytest.mark.asyncio
async def test_count_by_status_names_every_status(store: GatheringStore) -> None:
    assert await store.count_by_status() == dict.fromkeys(Status, 0)
    for _ in range(3):
        await store.create(GatheringOptions.of())
    done = await store.create(GatheringOptions.of())
    await store.update(done.id, status=Status.COMPLETED)
    assert await store.count_by_status() == {
        Status.NEW: 3,
        Status.INPROGRESS: 0,
        Status.COMPLETED: 1,
        Status.ERROR: 0,
    }


@pytest.mark.asyncio
async def test_ping(store: GatheringStore) -> None:
    await store.ping()


@pytest.mark.asyncio
async def test_migrations_are_idempotent(database_url: str) -> None:
    first = await GatheringStore.open(database_url)
    try:
        created = await first.create(GatheringOptions.of(custom_name="kept"))
        # Opened again while the first is open (memory databases vanish with their
        # last connection); the second open migrates nothing and loses nothing.
        second = await GatheringStore.open(database_url)
        try:
            await second.migrate()
            assert (await second.find("kept")).id == created.id
        finally:
            await second.close()
    finally:
        await first.close()


# -- the database cannot be used ---------------------------------------------------------


@asynccontextmanager
async def new_threads_finish() -> AsyncIterator[None]:
    """Wait for the threads started inside to end.

    aiosqlite stops the worker thread of a connection that failed to open without
    waiting for it; the thread then reports to the event loop, which must still be open.
    """
    before = set(threading.enumerate())
    try:
        yield
    finally:
        started = [thread for thread in threading.enumerate() if thread not in before]
        deadline = asyncio.get_running_loop().time() + 10
        while any(thread.is_alive() for thread in started):
            assert asyncio.get_running_loop().time() < deadline, started
            await asyncio.sleep(0.01)


async def assert_unavailable(url: str, *needles: str) -> str:
    async with new_threads_finish():
        with pytest.raises(StoreUnavailable) as caught:
            await GatheringStore.open(url)
    message = caught.value.message
    for needle in needles:
        assert needle in message, message
    assert "Traceback" not in message
    return message


@pytest.mark.asyncio
async def test_sqlite_in_a_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "gatherings.db"
    await assert_unavailable(f"sqlite+aiosqlite:///{path}", str(path), "unable to open")


@pytest.mark.asyncio
async def test_sqlite_below_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    path = tmp_path / "file" / "gatherings.db"
    await assert_unavailable(f"sqlite+aiosqlite:///{path}", str(path), "unable to open")


@pytest.mark.asyncio
async def test_sqlite_in_a_read_only_directory(tmp_path: Path) -> None:
    directory = tmp_path / "read-only"
    directory.mkdir()
    directory.chmod(0o555)
    try:
        if os.access(directory, os.W_OK):
            pytest.skip("this user (root) can write to a read-only directory")
        path = directory / "gatherings.db"
        await assert_unavailable(f"sqlite+aiosqlite:///{path}", str(path))
    finally:
        directory.chmod(0o755)


@pytest.mark.asyncio
async def test_unparsable_url() -> None:
    await assert_unavailable("not a database url", "cannot use the database")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "url",
    [
        "postgresql+nosuchdriver://user:s3cret@127.0.0.1:1/db",
        # Plain postgresql:// names psycopg, which the service does not ship.
        "postgresql://user:s3cret@127.0.0.1:1/db",
    ],
)
async def test_url_naming_a_driver_that_is_not_installed(url: str) -> None:
    message = await assert_unavailable(url, "127.0.0.1:1/db")
    assert "s3cret" not in message


@pytest.mark.postgres
@pytest.mark.asyncio
async def test_postgres_on_a_closed_port() -> None:
    port = free_port()  # bound and released: nothing listens there now
    message = await assert_unavailable(
        f"postgresql+asyncpg://gatherer:s3cret@127.0.0.1:{port}/gatherings",
        f"postgresql+asyncpg://127.0.0.1:{port}/gatherings",
        "migrations",
        "Connect",
    )
    assert "s3cret" not in message


@pytest.mark.postgres
@pytest.mark.asyncio
async def test_postgres_database_that_does_not_exist(postgres_server_url: str) -> None:
    base = postgres_server_url.rsplit("/", 1)[0]
    await assert_unavailable(f"{base}/mga_no_such_database", "mga_no_such_database")


@pytest.mark.asyncio
async def test_errors_after_the_store_is_closed_are_store_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "gatherings.db"
    opened = await GatheringStore.open(f"sqlite+aiosqlite:///{path}")
    await opened.close()
    path.unlink()
    (tmp_path / "gatherings.db").mkdir()  # the file is now a directory: unusable
    async with new_threads_finish():
        with pytest.raises(StoreUnavailable, match="cannot store the gathering"):
            await opened.create(GatheringOptions.of())


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+asyncpg://u:s3cret@db.example:5432/g",
            "postgresql+asyncpg://db.example:5432/g",
        ),
        ("postgresql+asyncpg://u:s3@cr@et@db.example/g", "postgresql+asyncpg://db.example/g"),
        ("postgresql+asyncpg://db.example/g?x=a@b", "postgresql+asyncpg://db.example/g?x=a@b"),
        (
            "sqlite+aiosqlite:////srv/a@b/gatherings.db",
            "sqlite+aiosqlite:////srv/a@b/gatherings.db",
        ),
    ],
)
def test_engine_name_hides_credentials(url: str, shown: str) -> None:
    assert engine_name(url) == shown


@pytest.mark.asyncio
async def test_namespaces_are_recorded_forgotten_and_reported_when_their_gathering_is_over(
    store: GatheringStore,
) -> None:
    running = await store.create(GatheringOptions())
    ended = await store.create(GatheringOptions())
    await store.update(running.id, status=Status.INPROGRESS)
    await store.update(ended.id, status=Status.ERROR, error_reason="interrupted")
    await store.record_namespace(running.id, "openshift-must-gather-aaaaa")
    await store.record_namespace(ended.id, "openshift-must-gather-bbbbb")
    await store.record_namespace(ended.id, "openshift-must-gather-bbbbb")  # twice is once
    await store.record_namespace(999, "openshift-must-gather-ccccc")  # its record is gone
    assert await store.recorded_namespaces(ended.id) == ((ended.id, "openshift-must-gather-bbbbb"),)
    assert len(await store.recorded_namespaces()) == 3
    # A running gathering's namespace is in use, not left over.
    assert await store.leftover_namespaces() == (
        (ended.id, "openshift-must-gather-bbbbb"),
        (999, "openshift-must-gather-ccccc"),
    )
    await store.delete(ended.id)  # removing the record keeps the only trace of its namespace
    assert len(await store.leftover_namespaces()) == 2
    await store.forget_namespace("openshift-must-gather-bbbbb")
    await store.forget_namespace("openshift-must-gather-unknown")
    assert await store.leftover_namespaces() == ((999, "openshift-must-gather-ccccc"),)
