"""What the isolated worker does, run here in-process: safe unpacking, checking an image's
archive, and the replies it gives for each kind of failure."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from must_gather_api.archive import unpacking, worker
from must_gather_api.archive.tarstream import TarCorrupt
from support.hostile import hostile_tar, unsafe_archive

pytestmark = pytest.mark.timeout(20)


def test_check_flags_every_unsafe_member_of_the_image_archive(tmp_path: Path) -> None:
    archive = unsafe_archive(tmp_path)
    verdict = unpacking.check(io.BytesIO(gzip.decompress(archive.read_bytes())), max_entries=None)
    assert (verdict.entries, verdict.unsafe) == (9, 7)
    assert verdict.shown[:2] == [
        "'must-gather/../escaped.txt': absolute or outside the tree",
        "'/var/absolute.txt': absolute or outside the tree",
    ]
    assert any("setuid" in line for line in verdict.shown)


def test_strict_extraction_drops_escaping_links_and_resets_modes(tmp_path: Path) -> None:
    archive = unsafe_archive(tmp_path / "image")
    root = tmp_path / "root"
    source = io.BytesIO(gzip.decompress(archive.read_bytes()))
    result = unpacking.extract(source, root, limit=None, max_entries=None, strict=True)
    assert not any(p.is_symlink() for p in root.rglob("*"))
    assert (root / "must-gather/setuid-shell").stat().st_mode & 0o7777 == 0o644
    assert (root / "must-gather/up/written-through.txt").read_bytes() == b"x\n"
    assert not (tmp_path / "escaped.txt").exists()
    assert result.skipped == 5
    assert "skipped 5 unsafe entries" in result.summary()


def test_the_worker_replies_with_what_went_wrong(tmp_path: Path) -> None:
    stream = tmp_path / "hostile.tar"
    stream.write_bytes(hostile_tar())
    request = {"operation": "extract", "source": str(stream), "root": str(tmp_path / "r")}
    reply = worker._reply(request)
    assert reply == {
        "ok": False,
        "kind": "not-tar",
        "message": "a pax header has a negative or unreadable size",
    }
    not_gzip = {"operation": "check", "source": str(stream), "gzip": True}
    assert worker._reply(not_gzip)["kind"] == "not-tar"
    archive = unsafe_archive(tmp_path / "image")
    small = {**request, "source": str(archive), "gzip": True, "limit": 3}
    assert worker._reply(small)["kind"] == "too-large"
    few = {**request, "source": str(archive), "gzip": True, "max_entries": 2}
    assert worker._reply(few)["kind"] == "too-many-entries"
    with pytest.raises(TarCorrupt):
        unpacking.check(io.BytesIO(hostile_tar()), max_entries=None)
