"""Pods' raw tar copies for the one-pass tests, and the archive extraction-then-packing makes
of them: the reference the one-pass archive must match member for member."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

from must_gather_api.archive import packing, unpacking
from must_gather_api.archive.members import Extracted
from must_gather_api.archive.onepass import Source

IMAGE = "quay-io-must-gather"  # where extraction puts an image's tree
NODE_IMAGE = "node-1/quay-io-other"  # and an image's tree from one node

# (name, type, size, mode, link target, sha256 of the data)
Listed = tuple[str, bytes, int, int, str, str]


def service_tree(root: Path) -> Path:
    """What the service writes itself before the copies: its log, the timestamps, and each
    image folder with its gather.logs."""
    root.mkdir(parents=True)
    (root / "must-gather.logs").write_text("[must-gather] OUT pod created\n")
    (root / "timestamp").write_text("2026-12-04 17:00:00\n")
    (root / "event-filter.html").write_text("<html></html>\n")
    for folder in (IMAGE, NODE_IMAGE):
        (root / folder).mkdir(parents=True)
        (root / folder / "gather.logs").write_text(f"log of {folder}\n")
    return root


def gnu_tar_of(tree: Path) -> bytes:
    """The stream the copy container's ``tar -C /must-gather/ -c .`` sends."""
    done = subprocess.run(
        ["tar", "-C", str(tree), "-c", "."], capture_output=True, check=True, timeout=60
    )
    return done.stdout


def ordinary_tree(root: Path) -> Path:
    """A must-gather tree: nested directories, small, empty and multi-MiB files, symlinks in
    the tree and out of it (kept: only an image's own archive is strict about those)."""
    (root / "namespaces/openshift-etcd/pods/etcd-0/logs").mkdir(parents=True)
    (root / "cluster-scoped-resources/core/nodes").mkdir(parents=True)
    (root / "empty-dir").mkdir()
    (root / "version").write_text("4.17.0\n")
    (root / "empty.log").write_bytes(b"")
    (root / "cluster-scoped-resources/core/nodes/node-1.yaml").write_text("kind: Node\n" * 500)
    big = b"".join(f"line {n} of an etcd log\n".encode() for n in range(130_000))
    (root / "namespaces/openshift-etcd/pods/etcd-0/logs/current.log").write_bytes(big)
    (root / "namespaces/openshift-etcd/events.yaml").write_text("items: []\n")
    (root / "latest").symlink_to("namespaces/openshift-etcd")
    (root / "outside").symlink_to("/etc/passwd")
    os.chmod(root / "version", 0o4755)  # setuid: packed as an ordinary 0644 file
    return root


def member(
    name: str,
    kind: bytes = tarfile.REGTYPE,
    data: bytes = b"",
    *,
    linkname: str = "",
    mode: int = 0o644,
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.linkname = linkname
    info.mtime = 1_700_000_000
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data


def stream_of(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    """A tar stream holding ``members`` exactly as given (tarfile does not judge them)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def raw_copies(scratch: Path, streams: dict[str, bytes]) -> list[Source]:
    """Each stream written where the copy leaves it, for the folder it belongs in."""
    scratch.mkdir(parents=True, exist_ok=True)
    sources = []
    for number, (folder, data) in enumerate(streams.items()):
        tar = scratch / f"copy-{number}.tar"
        tar.write_bytes(data)
        sources.append(Source(tar, folder))
    return sources


def extracted_then_packed(
    base: Path, sources: list[Source], work: Path, *, limit: int | None = None
) -> tuple[Path, packing.Packed, list[Extracted]]:
    """The reference: what the service did before (unpack each copy, then pack the tree)."""
    tree = work / "tree"
    shutil.copytree(base, tree, symlinks=True)
    found = []
    for source in sources:
        used = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file() and not p.is_symlink())
        with source.tar.open("rb") as raw:
            found.append(
                unpacking.extract(
                    raw, tree / source.folder, limit=limit, used=used, max_entries=None
                )
            )
    archive = work / "reference.tar.gz"
    packed = packing.pack(tree, archive, partial=work / "reference.partial", limit=limit)
    return archive, packed, found


def listing(archive: Path) -> list[Listed]:
    """Every member, sorted by name: what the equivalence compares (mtimes aside: a
    directory's is when it was made)."""
    found = []
    with tarfile.open(archive, "r:gz") as tar:
        for info in tar:
            data = b""
            if info.isreg():
                content = tar.extractfile(info)
                assert content is not None
                data = content.read()
            digest = hashlib.sha256(data).hexdigest()
            found.append((info.name, info.type, info.size, info.mode, info.linkname, digest))
    return sorted(found)


def assert_unique(listed: list[Listed]) -> None:
    names = [entry[0] for entry in listed]
    assert len(names) == len(set(names)), "a member twice"
