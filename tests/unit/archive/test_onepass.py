"""The one-pass packer against extraction-then-packing: the same members (names, types,
sizes, modes, link targets, contents) and the same counts, for ordinary copies, hostile
ones, and the streams that only extraction can build."""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from must_gather_api.archive import index, onepass, packing, unpacking
from must_gather_api.archive.tarstream import TarCorrupt, TooManyEntries
from support.hostile import hostile_tar, unsafe_archive
from support.streams import (
    IMAGE,
    NODE_IMAGE,
    assert_unique,
    extracted_then_packed,
    gnu_tar_of,
    listing,
    member,
    ordinary_tree,
    raw_copies,
    service_tree,
    stream_of,
)

pytestmark = pytest.mark.timeout(60)

HOSTILE = [
    member("./", tarfile.DIRTYPE),
    member("/etc/absolute.txt", data=b"no\n"),
    member("../escaped.txt", data=b"no\n"),
    member("a/../../escaped-too.txt", data=b"no\n"),
    member("deep/er/than/its/directories.txt", data=b"parents made on the way\n"),
    member("deep", tarfile.DIRTYPE),  # after its children: already there
    member("up", tarfile.SYMTYPE, linkname=".."),
    member("up/written-through.txt", data=b"no\n"),
    member("up/and/further.txt", data=b"no\n"),
    member("hard", tarfile.LNKTYPE, linkname="deep/er/than/its/directories.txt"),
    member("tty", tarfile.CHRTYPE),
    member("disk", tarfile.BLKTYPE),
    member("pipe", tarfile.FIFOTYPE),
    member("setuid-shell", data=b"#!/bin/sh\n", mode=0o4755),
    member("out", tarfile.SYMTYPE, linkname="/etc/shadow"),
    member("dir-with-odd-mode", tarfile.DIRTYPE, mode=0o7777),
    member("dir-with-odd-mode/f", data=b"x" * 3000, mode=0o7777),
    member("./././dotted//name.txt", data=b"normalised\n"),
    member("not-utf-8-\udcff.txt", data=b"a name in raw bytes\n"),
    member("a-name-" + "long" * 40 + ".txt", data=b"past ustar's 100 bytes\n"),
]

# Each replaces something written before: extraction's disk decides, the one pass cannot.
CLASHES = {
    "a name twice": [member("same.txt", data=b"first\n"), member("same.txt", data=b"second\n")],
    "a directory over a file": [member("x", data=b"file\n"), member("x", tarfile.DIRTYPE)],
    "a file over a directory": [member("x/y", data=b"in\n"), member("x", data=b"over\n")],
    "a member under a file": [member("x", data=b"file\n"), member("x/y", data=b"under\n")],
    "a link over a directory": [
        member("d/f", data=b"f\n"),
        member("d", tarfile.SYMTYPE, linkname="."),
    ],
    "the service's own gather.logs": [member("gather.logs", data=b"the pod's own\n")],
}


def one_pass(
    base: Path, sources: list[onepass.Source], work: Path, *, limit: int | None = None
) -> tuple[Path, onepass.Built]:
    tree = work / "tree"
    shutil.copytree(base, tree, symlinks=True)
    archive = work / "one-pass.tar.gz"
    built = onepass.build(
        tree, sources, archive, partial=work / "one-pass.partial", limit=limit, max_entries=None
    )
    return archive, built


def assert_equivalent(
    tmp_path: Path, streams: dict[str, bytes], *, one_pass_expected: bool
) -> onepass.Built:
    base = service_tree(tmp_path / "base")
    sources = raw_copies(tmp_path / "scratch", streams)
    reference, packed, found = extracted_then_packed(base, sources, tmp_path / "old")
    archive, built = one_pass(base, sources, tmp_path / "new")
    assert built.one_pass is one_pass_expected
    expected, got = listing(reference), listing(archive)
    assert_unique(got)
    assert got == expected
    assert [e.as_json() for e in built.extracted] == [e.as_json() for e in found]
    assert built.packed.entries == packed.entries == len(expected)
    assert [s.tar.exists() for s in sources] == [True] * len(sources)  # kept for resuming
    return built


def test_an_ordinary_copy_packs_as_extraction_then_packing_did(tmp_path: Path) -> None:
    data = gnu_tar_of(ordinary_tree(tmp_path / "pod"))
    other = gnu_tar_of(ordinary_tree(tmp_path / "other-pod"))
    built = assert_equivalent(tmp_path, {IMAGE: data, NODE_IMAGE: other}, one_pass_expected=True)
    assert [(e.files, e.links, e.skipped) for e in built.extracted] == [(5, 2, 0)] * 2
    # Its index is the one packing records, read from the archive as written.
    assert built.packed.index is not None
    by_path = built.packed.index.by_path()
    log = f"must-gather/{IMAGE}/namespaces/openshift-etcd/pods/etcd-0/logs/current.log"
    assert by_path[log].size == (tmp_path / "pod" / log.split("/", 2)[2]).stat().st_size


def test_hostile_members_are_dropped_as_extraction_drops_them(tmp_path: Path) -> None:
    built = assert_equivalent(tmp_path, {IMAGE: stream_of(HOSTILE)}, one_pass_expected=True)
    (found,) = built.extracted
    assert (found.files, found.directories, found.links, found.skipped) == (6, 2, 2, 9)


def test_the_unsafe_image_archive_as_a_pod_copy(tmp_path: Path) -> None:
    archive = unsafe_archive(tmp_path / "image")
    data = gzip.decompress(archive.read_bytes())
    built = assert_equivalent(tmp_path, {IMAGE: data}, one_pass_expected=True)
    # As a pod's copy (not an image's own archive) a link out of the tree is kept.
    assert built.extracted[0].skipped == 4


@pytest.mark.parametrize("case", sorted(CLASHES))
def test_a_stream_replacing_its_own_members_is_extracted_instead(tmp_path: Path, case: str) -> None:
    streams = {IMAGE: stream_of([member("before.txt", data=b"1\n"), *CLASHES[case]])}
    assert_equivalent(tmp_path, streams, one_pass_expected=False)


def test_past_the_limit_nothing_is_left(tmp_path: Path) -> None:
    base = service_tree(tmp_path / "base")
    sources = raw_copies(tmp_path / "scratch", {IMAGE: gnu_tar_of(ordinary_tree(tmp_path / "pod"))})
    with pytest.raises(unpacking.TooLarge, match="MAX_ARCHIVE_BYTES"):
        one_pass(base, sources, tmp_path / "new", limit=1 << 20)
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["tree"]


def test_the_archive_limit_counts_too(tmp_path: Path) -> None:
    base = service_tree(tmp_path / "base")
    noise = os.urandom(6300)  # incompressible: the archive outgrows the data
    sources = raw_copies(tmp_path / "scratch", {IMAGE: stream_of([member("f", data=noise)])})
    with pytest.raises(packing.ArchiveTooLarge):
        one_pass(base, sources, tmp_path / "new", limit=6450)
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["tree"]


def test_too_many_entries_and_bad_tar_stop_it(tmp_path: Path) -> None:
    base = service_tree(tmp_path / "base")
    many = raw_copies(tmp_path / "many", {IMAGE: stream_of(HOSTILE)})
    tree = tmp_path / "tree"
    shutil.copytree(base, tree)
    with pytest.raises(TooManyEntries):
        onepass.build(tree, many, tmp_path / "a", partial=tmp_path / "p", limit=None, max_entries=3)
    bad = raw_copies(tmp_path / "bad", {IMAGE: hostile_tar()})
    with pytest.raises(TarCorrupt):
        onepass.build(
            tree, bad, tmp_path / "a", partial=tmp_path / "p", limit=None, max_entries=None
        )
    assert not (tmp_path / "a").exists() and not (tmp_path / "p").exists()


def test_the_index_written_as_it_goes_is_the_archive_s(tmp_path: Path) -> None:
    base = service_tree(tmp_path / "base")
    data = gnu_tar_of(ordinary_tree(tmp_path / "pod"))
    sources = raw_copies(tmp_path / "scratch", {IMAGE: data, NODE_IMAGE: stream_of(HOSTILE)})
    work = tmp_path / "new"
    shutil.copytree(base, work / "tree")
    archive, saved = work / "a.tar.gz", work / "a.index.json"
    packed, _found = onepass.pack_streams(
        work / "tree",
        sources,
        archive,
        partial=work / "a.partial",
        limit=None,
        max_entries=None,
        index_path=saved,
    )
    assert packed.index is None
    written = index.load(saved)
    assert written is not None and written.matches(archive)
    scanned = index.scan(archive)
    assert (written.members, written.checkpoints) == (scanned.members, scanned.checkpoints)
    assert sorted(p.name for p in work.iterdir()) == ["a.index.json", "a.tar.gz", "tree"]
