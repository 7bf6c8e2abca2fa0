"""Cleanup against a real store (SQLite) and a real DATA_DIR."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from must_gather_api.errors import GatheringNotFound
from must_gather_api.gatherings.cleanup import QUOTA_REASON, Cleaner, CleanupReport
from must_gather_api.gatherings.layout import Layout
from must_gather_api.gatherings.records import Gathering, Status
from must_gather_api.gatherings.store import GatheringStore, now
from must_gather_api.parameters import GatheringOptions

pytestmark = pytest.mark.asyncio

DAY = timedelta(days=1)


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[GatheringStore]:
    opened = await GatheringStore.open(f"sqlite+aiosqlite:///{tmp_path / 'gatherings.db'}")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout(tmp_path / "data")


def never_busy(_gathering_id: int) -> bool:
    return False


def cleaner(
    store: GatheringStore,
    layout: Layout,
    *,
    max_age: timedelta | None = None,
    max_total_bytes: int | None = None,
    busy: frozenset[int] = frozenset(),
) -> Cleaner:
    return Cleaner(
        store=store,
        layout=layout,
        max_age=max_age,
        max_total_bytes=max_total_bytes,
        is_busy=lambda gathering_id: gathering_id in busy,
    )


async def gathering(
    store: GatheringStore,
    layout: Layout,
    *,
    status: Status = Status.COMPLETED,
    finished_at: datetime | None = None,
    archive_bytes: int = 100,
) -> Gathering:
    """A record with its directory: output log, work tree and (when finished) an archive."""
    created = await store.create(GatheringOptions.of(custom_name="c"))
    layout.prepare(created.id)
    layout.output_log(created.id).write_text("gathered\n")
    (layout.work_dir(created.id) / "version").write_text("1\n")
    changes: dict[str, object] = {"status": status}
    if finished_at is not None:
        changes["finished_at"] = finished_at
    if status.finished and archive_bytes:
        content = b"x" * archive_bytes
        layout.archive(created.id).write_bytes(content)
        changes.update(
            archive_size=len(content),
            archive_name="must-gather.tar.gz",
            archive_sha256=hashlib.sha256(content).hexdigest(),
        )
    return await store.update(created.id, **changes)


async def test_max_age_removes_old_finished_records_and_their_files(
    store: GatheringStore, layout: Layout
) -> None:
    old_ok = await gathering(store, layout, finished_at=now() - 3 * DAY)
    old_error = await gathering(store, layout, status=Status.ERROR, finished_at=now() - 2 * DAY)
    recent = await gathering(store, layout, finished_at=now() - timedelta(hours=1))

    report = await cleaner(store, layout, max_age=DAY).run_once()

    assert report == CleanupReport(expired=2)
    for gone in (old_ok, old_error):
        with pytest.raises(GatheringNotFound):
            await store.get(gone.id)
        assert not layout.directory(gone.id).exists()
    assert (await store.get(recent.id)).has_archive
    assert layout.archive(recent.id).is_file()
    assert await cleaner(store, layout, max_age=DAY).run_once() == CleanupReport()


async def test_max_age_never_touches_queued_or_running(
    store: GatheringStore, layout: Layout
) -> None:
    long_ago = now() - 30 * DAY
    queued = await gathering(store, layout, status=Status.NEW, finished_at=long_ago)
    running = await gathering(store, layout, status=Status.INPROGRESS, finished_at=long_ago)

    report = await cleaner(store, layout, max_age=timedelta(minutes=1)).run_once()

    assert report == CleanupReport()
    for kept in (queued, running):
        assert (await store.get(kept.id)).status is kept.status
        assert layout.work_dir(kept.id).is_dir()
        assert layout.output_log(kept.id).is_file()


async def test_max_age_skips_what_the_runner_says_is_busy(
    store: GatheringStore, layout: Layout
) -> None:
    # Finished in the store but still being finalised by the runner (archive moving).
    busy = await gathering(store, layout, finished_at=now() - 3 * DAY)
    idle = await gathering(store, layout, finished_at=now() - 3 * DAY)
    asked: list[int] = []

    def is_busy(gathering_id: int) -> bool:
        asked.append(gathering_id)
        return gathering_id == busy.id

    report = await Cleaner(
        store=store, layout=layout, max_age=DAY, max_total_bytes=None, is_busy=is_busy
    ).run_once()

    assert report.expired == 1
    assert busy.id in asked
    assert (await store.get(busy.id)).id == busy.id
    assert layout.archive(busy.id).is_file()
    assert not layout.directory(idle.id).exists()


async def test_orphan_directories_are_removed(store: GatheringStore, layout: Layout) -> None:
    owned = await gathering(store, layout)
    for orphan in (9001, 9002):
        layout.prepare(orphan)
        (layout.work_dir(orphan) / "left-over").write_text("x")
    layout.prepare(9003)  # an orphan the runner is still using (recovery)
    (layout.root / "lost+found").mkdir()

    report = await cleaner(store, layout, busy=frozenset({9003})).run_once()

    assert report == CleanupReport(orphans=2)
    assert layout.existing_ids() == {owned.id, 9003}
    assert (layout.root / "lost+found").is_dir()
    assert layout.archive(owned.id).is_file()


async def test_directories_that_only_look_like_ids_are_left_alone(
    store: GatheringStore, layout: Layout
) -> None:
    # Read as id 1, they would be "removed" as directory 1 each round and never go.
    for name in ("01", "\u0661", "\uff11"):
        (layout.root / name).mkdir(parents=True)
    for _ in range(2):
        assert await cleaner(store, layout).run_once() == CleanupReport()
    assert sorted(path.name for path in layout.root.iterdir()) == ["01", "\u0661", "\uff11"]


async def test_orphans_of_deleted_records_are_removed(
    store: GatheringStore, layout: Layout
) -> None:
    deleted = await gathering(store, layout)
    await store.delete(deleted.id)
    assert (await cleaner(store, layout).run_once()).orphans == 1
    assert not layout.directory(deleted.id).exists()


async def test_no_data_directory_is_fine(store: GatheringStore, layout: Layout) -> None:
    assert not layout.root.exists()
    await store.create(GatheringOptions.of())
    assert await cleaner(store, layout, max_age=DAY, max_total_bytes=1).run_once() == (
        CleanupReport()
    )


async def test_quota_removes_the_oldest_archives_and_keeps_the_records(
    store: GatheringStore, layout: Layout
) -> None:
    newest = await gathering(store, layout, finished_at=now() - 1 * DAY, archive_bytes=100)
    oldest = await gathering(store, layout, finished_at=now() - 3 * DAY, archive_bytes=100)
    middle = await gathering(store, layout, finished_at=now() - 2 * DAY, archive_bytes=100)
    removed_before = await gathering(store, layout, finished_at=now() - 9 * DAY)
    await store.update(removed_before.id, archive_removed="earlier", archive_name="")
    layout.remove_archive(removed_before.id)
    running = await gathering(store, layout, status=Status.INPROGRESS)

    report = await cleaner(store, layout, max_total_bytes=150).run_once()

    assert report == CleanupReport(archives_removed=2)
    for emptied in (oldest, middle):
        record = await store.get(emptied.id)
        assert record.archive_removed == QUOTA_REASON
        assert record.archive_name == ""
        assert not record.has_archive
        assert record.status is Status.COMPLETED
        assert not layout.archive(emptied.id).exists()
        # Only the archive goes: the record's log stays readable.
        assert layout.output_log(emptied.id).is_file()
    kept = await store.get(newest.id)
    assert kept.has_archive and kept.archive_name == "must-gather.tar.gz"
    assert layout.archive(newest.id).is_file()
    assert (await store.get(removed_before.id)).archive_removed == "earlier"
    assert layout.work_dir(running.id).is_dir()
    assert await cleaner(store, layout, max_total_bytes=150).run_once() == CleanupReport()


async def test_quota_passes_over_busy_gatherings(store: GatheringStore, layout: Layout) -> None:
    oldest = await gathering(store, layout, finished_at=now() - 3 * DAY)
    second = await gathering(store, layout, finished_at=now() - 2 * DAY)
    newest = await gathering(store, layout, finished_at=now() - 1 * DAY)

    report = await cleaner(
        store, layout, max_total_bytes=200, busy=frozenset({oldest.id})
    ).run_once()

    assert report.archives_removed == 1
    assert (await store.get(oldest.id)).has_archive
    assert not (await store.get(second.id)).has_archive
    assert (await store.get(newest.id)).has_archive


async def test_quota_exactly_met_removes_nothing(store: GatheringStore, layout: Layout) -> None:
    for days in (2, 1):
        await gathering(store, layout, finished_at=now() - days * DAY, archive_bytes=100)
    assert (await cleaner(store, layout, max_total_bytes=200).run_once()).archives_removed == 0


async def test_disabled_settings_do_nothing(store: GatheringStore, layout: Layout) -> None:
    ancient = await gathering(store, layout, finished_at=now() - 365 * DAY, archive_bytes=10_000)
    queued = await gathering(store, layout, status=Status.NEW)

    report = await Cleaner(
        store=store, layout=layout, max_age=None, max_total_bytes=None, is_busy=never_busy
    ).run_once()

    assert report == CleanupReport()
    assert (await store.get(ancient.id)).has_archive
    assert layout.archive(ancient.id).stat().st_size == 10_000
    assert layout.existing_ids() == {ancient.id, queued.id}
