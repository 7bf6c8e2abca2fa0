"""Archives whose members can be read from the middle, and their indexes."""

from __future__ import annotations

import gzip
import io
import os
import random
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from must_gather_api.archive import index
from must_gather_api.archive.packing import pack
from must_gather_api.archive.seekable import SPAN, Checkpoint, MemberWriter, read_span

pytestmark = pytest.mark.timeout(60)


def _tree(root: Path) -> Path:
    rng = random.Random(18)
    tree = root / "tree"
    (tree / "namespaces" / "a").mkdir(parents=True)
    (tree / "version").write_text("product\n1.0\n")
    (tree / "empty").write_bytes(b"")
    (tree / "namespaces" / "a" / "random.bin").write_bytes(rng.randbytes(3 * SPAN + 17))
    text = "".join(f"line {i} {rng.random()}\n" for i in range(120_000))
    (tree / "namespaces" / "a" / "pods.log").write_text(text)
    for i in range(40):
        (tree / "namespaces" / f"small-{i}.yaml").write_text(f"n: {i}\n" * i)
    os.symlink("version", tree / "link")
    return tree


def _read(archive: Path, idx: index.ArchiveIndex, member: index.Member, start: int = 0) -> bytes:
    with archive.open("rb") as file:
        return b"".join(
            read_span(file, idx.checkpoints, member.offset + start, member.size - start)
        )


@pytest.fixture
def packed(tmp_path: Path) -> tuple[Path, index.ArchiveIndex, Path]:
    tree = _tree(tmp_path)
    archive = tmp_path / "archive"
    result = pack(tree, archive, partial=tmp_path / "partial", limit=None)
    assert result.index is not None
    return archive, result.index, tree


def test_every_file_reads_as_tar_xzf_extracts_it(
    packed: tuple[Path, index.ArchiveIndex, Path], tmp_path: Path
) -> None:
    archive, idx, _tree_dir = packed
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(["tar", "xzf", str(archive), "-C", str(out)], check=True, timeout=30)
    files = [m for m in idx.members if m.type == index.FILE]
    assert len(files) == 44
    for member in files:
        assert _read(archive, idx, member) == (out / member.path).read_bytes(), member.path
    assert len(idx.checkpoints) > 8  # several gzip members, not one stream
    assert idx.by_path()["must-gather/link"].target == "version"


def test_a_range_deep_inside_a_large_file(packed: tuple[Path, index.ArchiveIndex, Path]) -> None:
    archive, idx, tree = packed
    member = idx.by_path()["must-gather/namespaces/a/pods.log"]
    whole = (tree / "namespaces" / "a" / "pods.log").read_bytes()
    with archive.open("rb") as file:
        got = b"".join(read_span(file, idx.checkpoints, member.offset + 2 * SPAN + 5, 1000))
    assert got == whole[2 * SPAN + 5 : 2 * SPAN + 1005]
    assert _read(archive, idx, member, start=member.size - 3) == whole[-3:]


def test_scanning_finds_what_packing_recorded(
    packed: tuple[Path, index.ArchiveIndex, Path],
) -> None:
    archive, idx, _tree_dir = packed
    assert index.scan(archive) == idx


def test_the_index_survives_saving(packed: tuple[Path, index.ArchiveIndex, Path]) -> None:
    archive, idx, _tree_dir = packed
    saved = archive.with_name("archive.index")
    index.save(idx, saved)
    assert index.load(saved) == idx
    assert idx.matches(archive)
    saved.write_text('{"format": 99}')
    assert index.load(saved) is None
    saved.write_text("not json")
    assert index.load(saved) is None


def _info(name: str, data: bytes = b"", type_: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.type = type_
    return info


def test_an_archive_packed_elsewhere_is_indexed_on_first_use(tmp_path: Path) -> None:
    archive = tmp_path / "legacy.tar.gz"
    big = random.Random(1).randbytes(SPAN * 2)
    with tarfile.open(archive, "w:gz") as tar:
        tar.addfile(_info("./must-gather/", type_=tarfile.DIRTYPE))
        tar.addfile(_info("./must-gather/plan.yaml", b"kind: Plan\n"), io.BytesIO(b"kind: Plan\n"))
        tar.addfile(_info("must-gather/big.bin", big), io.BytesIO(big))
        hard = _info("must-gather/again.yaml", type_=tarfile.LNKTYPE)
        hard.linkname = "./must-gather/plan.yaml"
        tar.addfile(hard)
        for evil in ("../escape", "/etc/passwd", "must-gather/../../x", "a//b"):
            tar.addfile(_info(evil, b"no"), io.BytesIO(b"no"))
        tar.addfile(_info("must-gather/plan.yaml", b"kind: Plan2\n"), io.BytesIO(b"kind: Plan2\n"))
    idx = index.scan(archive)
    paths = [m.path for m in idx.members]
    assert paths == [
        "must-gather",
        "must-gather/big.bin",
        "must-gather/again.yaml",
        "must-gather/plan.yaml",
    ]
    assert idx.checkpoints == (Checkpoint(0, 0),)
    by_path = idx.by_path()
    assert _read(archive, idx, by_path["must-gather/plan.yaml"]) == b"kind: Plan2\n"
    assert _read(archive, idx, by_path["must-gather/again.yaml"]) == b"kind: Plan\n"
    assert _read(archive, idx, by_path["must-gather/big.bin"], start=SPAN + 1) == big[SPAN + 1 :]


def test_a_broken_archive_is_reported_not_indexed(tmp_path: Path) -> None:
    archive = tmp_path / "broken"
    archive.write_bytes(gzip.compress(b"not a tar at all" * 100)[:-20])
    with pytest.raises(index.IndexUnreadable):
        index.scan(archive)
    archive.write_bytes(b"plain bytes")
    with pytest.raises(index.IndexUnreadable):
        index.scan(archive)


def test_members_are_standard_gzip(tmp_path: Path) -> None:
    out = io.BytesIO()
    writer = MemberWriter(out, level=1, span=10)
    writer.write(b"0123456789abcdefghijklmnopqrstuvwxyz")
    writer.close()
    assert gzip.decompress(out.getvalue()) == b"0123456789abcdefghijklmnopqrstuvwxyz"
    assert [c.uncompressed for c in writer.checkpoints] == [0, 10, 20, 30]
    for checkpoint in writer.checkpoints:
        rest = gzip.decompress(out.getvalue()[checkpoint.compressed :])
        assert rest == b"0123456789abcdefghijklmnopqrstuvwxyz"[checkpoint.uncompressed :]
    empty = io.BytesIO()
    MemberWriter(empty, level=1).close()
    assert gzip.decompress(empty.getvalue()) == b""


def test_members_stay_in_order_whatever_the_pieces(tmp_path: Path) -> None:
    """Whole spans of bytes go to the compressors as they are, other pieces through the
    buffer; either way every member starts at a span and the stream is the input."""
    rng = random.Random(7)
    data = rng.randbytes(40 * 1000 + 3)
    out = io.BytesIO()
    writer = MemberWriter(out, level=1, span=1000)
    done = 0
    kinds: list[Callable[[bytes], bytes | bytearray | memoryview]] = [
        bytes,
        bytearray,
        memoryview,
    ]
    while done < len(data):
        size = rng.choice([1, 999, 1000, 1001, 4000, 7321])
        piece = data[done : done + size]
        assert writer.write(rng.choice(kinds)(piece)) == len(piece)
        done += len(piece)
        assert writer.tell() == done
    writer.close()
    assert gzip.decompress(out.getvalue()) == data
    assert [c.uncompressed for c in writer.checkpoints] == list(range(0, len(data), 1000))
    for checkpoint in writer.checkpoints[::7]:
        rest = gzip.decompress(out.getvalue()[checkpoint.compressed :])
        assert rest == data[checkpoint.uncompressed :]
