"""Packing a gathered tree that a hostile pod may have shaped."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest

from must_gather_api.archive.packing import (
    ArchiveTooLarge,
    Packed,
    adopt,
    find_packed_archive,
    pack,
)
from must_gather_api.errors import ExecutionFailed

ODD_NAMES = [
    "with space",
    "new\nline",
    "quote\"and'apostrophe",
    "-rf",
    "ünïcødé-名前",
    "back\\slash",
    "x" * 200,
]


def hostile_tree(root: Path) -> Path:
    tree = root / "tree"
    (tree / "namespaces" / "default").mkdir(parents=True)
    (tree / "namespaces" / "default" / "pods.yaml").write_text("items: []\n")
    (tree / "version").write_text("1.0\n")
    os.symlink("../../etc/passwd", tree / "escape")
    os.symlink("/etc/passwd", tree / "absolute")
    os.symlink("../../../../../../root", tree / "namespaces" / "deep-escape")
    os.link(tree / "version", tree / "hardlink-to-version")
    os.mkfifo(tree / "fifo")
    (tree / "loop").mkdir()
    os.symlink("..", tree / "loop" / "parent")
    os.symlink("self", tree / "self")
    os.symlink(tree, tree / "loop" / "absolute-root")
    for name in ODD_NAMES:
        (tree / name).write_text(name)
    (tree / os.fsdecode(b"not-utf8-\xff")).write_text("bytes")
    return tree


def members(archive: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(archive, mode="r:gz") as tar:
        return {member.name: member for member in tar.getmembers()}


def content(archive: Path, name: str) -> bytes:
    with tarfile.open(archive, mode="r:gz") as tar:
        extracted = tar.extractfile(name)
        assert extracted is not None
        return extracted.read()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_hostile_tree_stays_inside_must_gather(tmp_path: Path) -> None:
    tree = hostile_tree(tmp_path)
    archive, partial = tmp_path / "archive", tmp_path / "archive.partial"

    packed = pack(tree, archive, partial=partial, limit=None)

    found = members(archive)
    assert not partial.exists()
    assert packed == Packed(size=archive.stat().st_size, sha256=sha256(archive), entries=len(found))
    for name, member in found.items():
        assert name == "must-gather" or name.startswith("must-gather/"), name
        assert ".." not in name.split("/"), name
        assert member.type in (tarfile.DIRTYPE, tarfile.REGTYPE, tarfile.SYMTYPE), name
        assert member.mode & 0o7022 == 0, name  # no setuid, no group/other write
    assert found["must-gather"].isdir()


def test_symlinks_are_stored_as_links_not_followed(tmp_path: Path) -> None:
    tree = hostile_tree(tmp_path)
    archive = tmp_path / "archive"
    pack(tree, archive, partial=tmp_path / "partial", limit=None)

    found = members(archive)
    links = {name: member.linkname for name, member in found.items() if member.issym()}
    assert links == {
        "must-gather/escape": "../../etc/passwd",
        "must-gather/absolute": "/etc/passwd",
        "must-gather/namespaces/deep-escape": "../../../../../../root",
        "must-gather/loop/parent": "..",
        "must-gather/self": "self",
        "must-gather/loop/absolute-root": str(tree),
    }
    for name in links:
        assert found[name].size == 0
    # Nothing under a directory symlink was walked into.
    assert not [name for name in found if name.startswith("must-gather/loop/parent/")]
    assert not [name for name in found if name.startswith("must-gather/loop/absolute-root/")]
    passwd = Path("/etc/passwd")
    if passwd.exists():
        with tarfile.open(archive, mode="r:gz") as tar:
            regular = [tar.extractfile(m) for m in tar.getmembers() if m.isreg()]
            assert passwd.read_bytes() not in [file.read() for file in regular if file]


def test_fifo_is_left_out_and_hardlink_is_a_regular_file(tmp_path: Path) -> None:
    tree = hostile_tree(tmp_path)
    archive = tmp_path / "archive"
    pack(tree, archive, partial=tmp_path / "partial", limit=None)

    found = members(archive)
    assert "must-gather/fifo" not in found
    hardlink = found["must-gather/hardlink-to-version"]
    assert hardlink.isreg() and not hardlink.islnk()
    assert content(archive, "must-gather/hardlink-to-version") == b"1.0\n"
    assert content(archive, "must-gather/version") == b"1.0\n"


def test_odd_names_are_kept_exactly(tmp_path: Path) -> None:
    tree = hostile_tree(tmp_path)
    archive = tmp_path / "archive"
    pack(tree, archive, partial=tmp_path / "partial", limit=None)

    for name in ODD_NAMES:
        assert content(archive, f"must-gather/{name}") == name.encode()
    assert content(archive, "must-gather/" + os.fsdecode(b"not-utf8-\xff")) == b"bytes"


def test_archive_extracts_safely_with_the_data_filter(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "dir").mkdir(parents=True)
    (tree / "dir" / "file").write_text("data")
    os.symlink("file", tree / "dir" / "inside-link")
    archive = tmp_path / "archive"
    pack(tree, archive, partial=tmp_path / "partial", limit=None)

    with tarfile.open(archive, mode="r:gz") as tar:
        tar.extractall(tmp_path / "out", filter="data")
    out = tmp_path / "out" / "must-gather"
    assert (out / "dir" / "file").read_text() == "data"
    assert os.readlink(out / "dir" / "inside-link") == "file"


def test_empty_tree(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    archive = tmp_path / "archive"
    packed = pack(tree, archive, partial=tmp_path / "partial", limit=None)
    assert packed.entries == 1
    assert list(members(archive)) == ["must-gather"]


def test_size_cap_raises_and_leaves_no_file(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "random").write_bytes(os.urandom(512 * 1024))  # does not compress
    archive, partial = tmp_path / "archive", tmp_path / "archive.partial"

    with pytest.raises(ArchiveTooLarge, match="MAX_ARCHIVE_BYTES") as caught:
        pack(tree, archive, partial=partial, limit=64 * 1024)

    assert isinstance(caught.value, ExecutionFailed)
    assert "65536" in caught.value.message
    assert not archive.exists()
    assert not partial.exists()


def test_size_cap_that_fits(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "small").write_text("small")
    archive = tmp_path / "archive"
    packed = pack(tree, archive, partial=tmp_path / "partial", limit=1024 * 1024)
    assert packed.size == archive.stat().st_size <= 1024 * 1024


def test_an_existing_archive_is_replaced_whole(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "file").write_text("new")
    archive = tmp_path / "archive"
    archive.write_bytes(b"old archive")
    packed = pack(tree, archive, partial=tmp_path / "partial", limit=None)
    assert packed.sha256 == sha256(archive)
    assert content(archive, "must-gather/file") == b"new"


# -- an archive the image packed itself -------------------------------------------------


def own_archive(path: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = b"plan data\n"
        info = tarfile.TarInfo("must-gather/plan.yaml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def test_find_packed_archive_one_level_down(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    inner = tree / "quay-io-kubev2v-forklift-must-gather-sha256-abc" / "must-gather.tar.gz"
    own_archive(inner)
    (tree / "timestamp").write_text("now")
    assert find_packed_archive(tree, "must-gather.tar.gz") == inner


def test_two_packed_archives_are_not_adopted(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    own_archive(tree / "a" / "must-gather.tar.gz")
    own_archive(tree / "b" / "must-gather.tar.gz")
    assert find_packed_archive(tree, "must-gather.tar.gz") is None


def test_no_packed_archive(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "must-gather.tar.gz.txt").write_text("not it")
    assert find_packed_archive(tree, "must-gather.tar.gz") is None


def test_links_named_like_the_archive_are_not_archives(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    os.symlink("/etc/passwd", tree / "must-gather.tar.gz")
    (tree / "dir").mkdir()
    os.mkfifo(tree / "dir" / "must-gather.tar.gz")
    assert find_packed_archive(tree, "must-gather.tar.gz") is None
    real = tree / "real" / "must-gather.tar.gz"
    own_archive(real)
    # Only the regular file counts, so it is the one.
    assert find_packed_archive(tree, "must-gather.tar.gz") == real


def test_adopt_moves_the_file_and_reports_its_hash(tmp_path: Path) -> None:
    source = tmp_path / "tree" / "image" / "must-gather.tar.gz"
    data = own_archive(source)
    archive, partial = tmp_path / "archive", tmp_path / "archive.partial"

    packed = adopt(source, archive, partial=partial, limit=None)

    assert packed == Packed(size=len(data), sha256=hashlib.sha256(data).hexdigest(), entries=1)
    assert archive.read_bytes() == data
    assert packed.sha256 == sha256(archive)
    assert not source.exists()
    assert not partial.exists()


def test_adopt_over_the_limit(tmp_path: Path) -> None:
    source = tmp_path / "tree" / "must-gather.tar.gz"
    data = own_archive(source)
    archive, partial = tmp_path / "archive", tmp_path / "archive.partial"

    with pytest.raises(ArchiveTooLarge, match="MAX_ARCHIVE_BYTES"):
        adopt(source, archive, partial=partial, limit=len(data) - 1)

    assert not archive.exists()
    assert not partial.exists()
    assert adopt(source, archive, partial=partial, limit=len(data)).size == len(data)
