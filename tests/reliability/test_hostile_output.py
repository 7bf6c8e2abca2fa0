"""Gather images whose output is hostile by size or shape: time and memory stay bounded and
the archive holds only what it should."""

from __future__ import annotations

import resource
import tarfile
import time
from pathlib import Path

import pytest

from kubesim.cluster import Cluster
from must_gather_api.archive import isolated, packing, vetting
from must_gather_api.executors.base import Job
from support.native import Lines, executor_for, gone, job

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(240)]

MANY_FILES = "kubesim.local/must-gather-many-files:latest"
SPARSE_FILE = "kubesim.local/must-gather-sparse-file:latest"
GZIP_BOMB = "kubesim.local/must-gather-gzip-bomb:latest"
HOSTILE_TAR = "kubesim.local/must-gather-hostile-tar:latest"
UNSAFE_ARCHIVE = "kubesim.local/must-gather-unsafe-archive:latest"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pack(gathering: Job, tmp_path: Path) -> tuple[Path, packing.Packed]:
    archive = tmp_path / "archive.tar.gz"
    packed = packing.pack(
        gathering.work_dir, archive, partial=tmp_path / "archive.partial", limit=None
    )
    return archive, packed


async def test_tens_of_thousands_of_tiny_files(kubesim: Cluster, tmp_path: Path) -> None:
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(
        tmp_path, images=(MANY_FILES,), command="FILE_COUNT=20000 /usr/bin/gather", timeout=180
    )
    before = peak_rss_mib()
    started = time.monotonic()
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert outcome.succeeded, f"{outcome.error_reason}\n{output.text}"
    archive, _packed = pack(gathering, tmp_path)
    seconds = time.monotonic() - started
    print(f"20,000 files: {seconds:.1f} s, peak RSS {before:.0f} -> {peak_rss_mib():.0f} MiB")  # noqa: T201
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert sum(1 for name in names if name.endswith(".txt")) == 20000
    assert all(name.startswith("must-gather/") or name == "must-gather" for name in names)
    assert peak_rss_mib() - before < 200
    assert await gone(kubesim) == []


@pytest.mark.soak
@pytest.mark.timeout(3300)
async def test_a_million_tiny_files(kubesim: Cluster, tmp_path: Path) -> None:
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path, images=(MANY_FILES,), timeout=3000)
    before = peak_rss_mib()
    started = time.monotonic()
    outcome = await executor.run(gathering, Lines())
    assert outcome.succeeded, outcome.error_reason
    _archive, packed = pack(gathering, tmp_path)
    assert packed.entries > 1_000_000
    # The service (with kubesim in this process) and the largest child: the unpacking
    # worker, or a pod's process.
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(  # noqa: T201 - the figures the report quotes
        f"a million files: {time.monotonic() - started:.0f} s, peak RSS of this process "
        f"{before:.0f} -> {peak_rss_mib():.0f} MiB, largest child {child:.0f} MiB"
    )
    # The pod's limit is 1 GiB: this process (kubesim included, so the figure is high) and one
    # unpacking worker (capped at isolated.MEMORY_BYTES) must fit in it together. Most of
    # what remains is the archive's index, one entry per member (~370 B each).
    assert peak_rss_mib() + isolated.MEMORY_BYTES / 2**20 < 1024
    assert child < isolated.MEMORY_BYTES / 2**20
    assert await gone(kubesim) == []


async def test_a_sparse_file_claiming_a_terabyte_stops_at_the_size_cap(
    kubesim: Cluster, tmp_path: Path
) -> None:
    executor = await executor_for(kubesim, tmp_path, max_archive_bytes="64Mi")
    gathering = job(tmp_path, images=(SPARSE_FILE,), timeout=120)
    output = Lines()
    started = time.monotonic()
    outcome = await executor.run(gathering, output)
    assert not outcome.succeeded
    assert "MAX_ARCHIVE_BYTES" in outcome.error_reason, outcome.error_reason
    assert time.monotonic() - started < 60
    on_disk = sum(p.stat().st_blocks * 512 for p in tmp_path.rglob("*") if p.is_file())
    assert on_disk < 256 * 2**20, f"{on_disk} bytes on disk for a 64 MiB cap"
    assert await gone(kubesim) == []


async def test_a_gzip_bomb_as_the_archive_is_served_unopened(
    kubesim: Cluster, tmp_path: Path
) -> None:
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path, images=(GZIP_BOMB,), command="BOMB_BYTES=4294967296 /usr/bin/gather")
    before = peak_rss_mib()
    outcome = await executor.run(gathering, Lines())
    assert outcome.succeeded, outcome.error_reason
    bomb = packing.find_packed_archive(gathering.work_dir, "must-gather.tar.gz")
    assert bomb is not None
    # 4 GiB of zeros when unpacked, a few MiB as it is: nothing here unpacked it.
    assert bomb.stat().st_size < 16 * 2**20
    assert peak_rss_mib() - before < 200
    assert await gone(kubesim) == []


@pytest.mark.timeout(60)
async def test_a_negative_pax_size_from_the_copy_container_fails_the_copy_quickly(
    kubesim: Cluster, tmp_path: Path
) -> None:
    """The image's own tar sends 4 KiB whose pax header says size=-1536: tarfile looped on
    it forever, growing, after the copy had called the stream complete."""
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path, images=(HOSTILE_TAR,), timeout=60)
    before = peak_rss_mib()
    started = time.monotonic()
    outcome = await executor.run(gathering, Lines())
    assert not outcome.succeeded
    assert "tar stream of pod" in outcome.error_reason, outcome.error_reason
    assert "not valid" in outcome.error_reason, outcome.error_reason
    assert time.monotonic() - started < 30
    assert peak_rss_mib() - before < 50
    assert await gone(kubesim) == []


async def test_an_image_archive_with_unsafe_members_is_re_packed_without_them(
    kubesim: Cluster, tmp_path: Path
) -> None:
    """`..`, absolute, setuid, device and escaping-symlink members are not served."""
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path, images=(UNSAFE_ARCHIVE,))
    outcome = await executor.run(gathering, Lines())
    assert outcome.succeeded, outcome.error_reason
    own = packing.find_packed_archive(gathering.work_dir, "must-gather.tar.gz")
    assert own is not None
    served = await vetting.serve_own(
        own,
        gathering.work_dir,
        tmp_path / "archive",
        partial=tmp_path / "archive.partial",
        scratch=tmp_path / "repack",
        limit=None,
        max_entries=None,
    )
    assert "held 7 unsafe entries" in served.note, served.note
    with tarfile.open(tmp_path / "archive") as tar:
        found = {m.name: m for m in tar.getmembers()}
    # The links were dropped, so the file once written through one lands in a directory.
    assert sorted(found) == [
        "must-gather",
        "must-gather/ok.txt",
        "must-gather/setuid-shell",
        "must-gather/up",
        "must-gather/up/written-through.txt",
    ]
    assert all(not m.mode & 0o6000 and (m.isreg() or m.isdir()) for m in found.values())
    assert not (tmp_path / "repack").exists()
    assert await gone(kubesim) == []
