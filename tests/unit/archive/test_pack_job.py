"""Packing a gathered tree in the isolated worker (inspect-only gatherings, an image's own
tree, the un-redacted original): the archive packing.pack writes, its index on disk."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from must_gather_api.archive import index, onepass_job, packing
from support.streams import listing, ordinary_tree

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


async def test_the_worker_packs_a_tree_with_its_index_on_disk(tmp_path: Path) -> None:
    tree = ordinary_tree(tmp_path / "tree")
    reference = packing.pack(tree, tmp_path / "reference", partial=tmp_path / "r", limit=None)
    work = tmp_path / "work"
    work.mkdir()

    packed = await onepass_job.pack(
        tree,
        work / "archive",
        partial=work / "archive.partial",
        index_path=work / "archive.index",
        limit=None,
        deadline=time.monotonic() + 30,
    )

    assert packed.entries == reference.entries
    assert packed.size == (work / "archive").stat().st_size
    assert listing(work / "archive") == listing(tmp_path / "reference")
    assert index.load(work / "archive.index") == index.scan(work / "archive")
    assert sorted(p.name for p in work.iterdir()) == ["archive", "archive.index"]


async def test_an_archive_only_kept_gets_no_index(tmp_path: Path) -> None:
    tree = ordinary_tree(tmp_path / "tree")
    work = tmp_path / "work"
    work.mkdir()

    await onepass_job.pack(
        tree,
        work / "original",
        partial=work / "archive.partial",
        index_path=None,
        limit=None,
        deadline=time.monotonic() + 30,
    )

    assert sorted(p.name for p in work.iterdir()) == ["original"]


async def test_past_the_limit_nothing_is_left_and_the_limits_error_is_raised(
    tmp_path: Path,
) -> None:
    tree = ordinary_tree(tmp_path / "tree")
    work = tmp_path / "work"
    work.mkdir()

    with pytest.raises(packing.ArchiveTooLarge, match="MAX_ARCHIVE_BYTES"):
        await onepass_job.pack(
            tree,
            work / "archive",
            partial=work / "archive.partial",
            index_path=work / "archive.index",
            limit=1000,
            deadline=time.monotonic() + 30,
        )

    assert list(work.iterdir()) == []
