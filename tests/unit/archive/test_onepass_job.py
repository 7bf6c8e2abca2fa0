"""The one-pass packer in the isolated worker: what it answers, and what a stopped or
cancelled job leaves behind (nothing but the raw copies, which are the caller's)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from must_gather_api.archive import index, isolated, onepass_job, packing
from must_gather_api.archive.onepass import Source
from support.streams import (
    IMAGE,
    extracted_then_packed,
    gnu_tar_of,
    listing,
    member,
    ordinary_tree,
    raw_copies,
    service_tree,
    stream_of,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


def outputs(work: Path) -> dict[str, Path]:
    return {
        "destination": work / "archive.tar.gz",
        "partial": work / "archive.partial",
        "index_path": work / "archive.index.json",
    }


async def test_the_worker_builds_the_archive_and_its_index(tmp_path: Path) -> None:
    base = service_tree(tmp_path / "base")
    sources = raw_copies(tmp_path / "scratch", {IMAGE: gnu_tar_of(ordinary_tree(tmp_path / "p"))})
    reference, packed, found = extracted_then_packed(base, sources, tmp_path / "old")
    work = tmp_path / "new"
    shutil.copytree(base, work / "tree")
    paths = outputs(work)
    streamed = await onepass_job.build(
        work / "tree",
        sources,
        **paths,
        limit=None,
        max_entries=None,
        deadline=time.monotonic() + 30,
    )
    assert streamed.one_pass
    assert listing(paths["destination"]) == listing(reference)
    assert [e.as_json() for e in streamed.extracted] == [e.as_json() for e in found]
    assert streamed.packed.entries == packed.entries
    assert sorted(p.name for p in work.iterdir()) == [
        "archive.index.json",
        "archive.tar.gz",
        "tree",
    ]
    saved = index.load(paths["index_path"])
    assert saved is not None and saved.matches(paths["destination"])
    scanned = index.scan(paths["destination"])
    assert saved.members == scanned.members


async def test_past_the_limit_it_is_too_large_and_leaves_nothing(tmp_path: Path) -> None:
    sources = raw_copies(tmp_path / "scratch", {IMAGE: stream_of([member("f", data=b"x" * 9000)])})
    tree = service_tree(tmp_path / "tree")
    paths = outputs(tmp_path)
    with pytest.raises(packing.ArchiveTooLarge, match="MAX_ARCHIVE_BYTES"):
        await onepass_job.build(
            tree, sources, **paths, limit=4096, max_entries=None, deadline=time.monotonic() + 30
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scratch", "tree"]


async def test_a_job_stopped_at_its_deadline_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(isolated, "MIN_SECONDS", 2.0)
    fifo = tmp_path / "copy.tar"
    os.mkfifo(fifo)  # a copy that never ends: the worker waits on it until it is stopped
    tree = service_tree(tmp_path / "tree")
    paths = outputs(tmp_path)
    with pytest.raises(isolated.WorkerFailed) as failed:
        await onepass_job.build(
            tree,
            [Source(fifo, IMAGE)],
            **paths,
            limit=None,
            max_entries=None,
            deadline=time.monotonic(),
        )
    assert failed.value.kind == "deadline"
    assert not any(path.exists() for path in paths.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.tar", "tree"]


async def test_a_job_cancelled_mid_stream_leaves_nothing_behind(tmp_path: Path) -> None:
    fifo = tmp_path / "copy.tar"
    os.mkfifo(fifo)
    tree = service_tree(tmp_path / "tree")
    paths = outputs(tmp_path)
    # The first member's header and part of its data; the rest never comes.
    head = stream_of([member("big.log", data=b"y" * 40_000)])[:20_000]
    loop = asyncio.get_running_loop()
    opened = asyncio.Event()
    finished = threading.Event()

    def copy_in() -> None:
        descriptor = os.open(fifo, os.O_WRONLY)  # returns once the worker reads the copy
        loop.call_soon_threadsafe(opened.set)
        with contextlib.suppress(BrokenPipeError):
            os.write(descriptor, head)
        finished.wait(30)
        os.close(descriptor)

    writer = threading.Thread(target=copy_in)
    writer.start()
    job = asyncio.create_task(
        onepass_job.build(
            tree,
            [Source(fifo, IMAGE)],
            **paths,
            limit=None,
            max_entries=None,
            deadline=time.monotonic() + 60,
        )
    )
    try:
        await opened.wait()
        # The worker opens its partial archive before it reads any copy.
        assert paths["partial"].exists()
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
    finally:
        finished.set()
        if not opened.is_set():  # the worker never opened it: let the writer go
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        await asyncio.to_thread(writer.join, 10)
    assert not any(path.exists() for path in paths.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.tar", "tree"]
