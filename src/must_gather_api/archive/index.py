"""The index of an archive: its members, where each one's data starts, and the restart points.

Written beside the archive when it is packed (``packing.pack`` records it as it writes);
for an archive packed elsewhere (an image's own) or before indexes existed, ``scan``
builds it by reading the archive once. The index names the archive's size and mtime, so
an index that does not match its archive is rebuilt rather than trusted.

Member paths are the archive's names with a leading ``./`` and trailing ``/`` removed.
Names that are absolute or hold a ``..`` segment (which ``tar xzf`` refuses or strips)
are left out: nothing outside the archive can be named. A later member of the same name
replaces an earlier one, as extraction does; a hard link is served as its target.
All functions here block: call them off the event loop.
"""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from must_gather_api.archive.seekable import Checkpoint, CorruptArchive, inflate_members

FORMAT = 1

FILE = "file"
DIRECTORY = "directory"
SYMLINK = "symlink"
OTHER = "other"


class IndexUnreadable(Exception):
    """The archive (or its index) cannot be read as a tar.gz."""


@dataclass(frozen=True, slots=True)
class Member:
    path: str
    type: str
    size: int
    mtime: int
    offset: int = 0  # of its data in the uncompressed stream
    target: str = ""  # of a symlink


@dataclass(frozen=True)
class ArchiveIndex:
    members: tuple[Member, ...]
    checkpoints: tuple[Checkpoint, ...]
    archive_size: int
    archive_mtime_ns: int

    def by_path(self) -> dict[str, Member]:
        return {member.path: member for member in self.members}

    def matches(self, archive: Path) -> bool:
        status = archive.stat()
        return (status.st_size, status.st_mtime_ns) == (self.archive_size, self.archive_mtime_ns)


def clean_name(name: str) -> str | None:
    """The path a member is known by, or None if it names something outside the archive."""
    while name.startswith("./"):
        name = name[2:]
    name = name.rstrip("/")
    if not name or name == "." or name.startswith("/") or "\0" in name:
        return None
    if any(part in ("..", ".") for part in name.split("/")) or "//" in name:
        return None
    return name


class IndexBuilder:
    """The index, one tar member at a time: only the compact ``Member`` is kept, not the
    ``TarInfo`` (a million of those would take half a GiB)."""

    def __init__(self) -> None:
        self._found: dict[str, Member] = {}

    def add(self, info: tarfile.TarInfo) -> None:
        """A member whose ``offset_data`` is set, in archive order."""
        path = clean_name(info.name)
        if path is None:
            return
        self._found.pop(path, None)  # a later member of that name is the one extraction keeps
        member = member_of(path, info, self._found)
        if member is not None:
            self._found[path] = member

    def build(self, checkpoints: Iterable[Checkpoint], archive: Path) -> ArchiveIndex:
        status = archive.stat()
        return ArchiveIndex(
            members=tuple(self._found.values()),
            checkpoints=tuple(checkpoints),
            archive_size=status.st_size,
            archive_mtime_ns=status.st_mtime_ns,
        )


def from_infos(
    infos: Iterable[tarfile.TarInfo], checkpoints: Iterable[Checkpoint], archive: Path
) -> ArchiveIndex:
    """The index of tar members whose ``offset_data`` is set, in archive order."""
    builder = IndexBuilder()
    for info in infos:
        builder.add(info)
    return builder.build(checkpoints, archive)


def member_of(path: str, info: tarfile.TarInfo, earlier: dict[str, Member]) -> Member | None:
    """The index's entry for ``info`` (named ``path``); a hard link's target among ``earlier``."""
    mtime = int(info.mtime)
    if info.isreg():
        return Member(path, FILE, info.size, mtime, info.offset_data)
    if info.isdir():
        return Member(path, DIRECTORY, 0, mtime)
    if info.issym():
        return Member(path, SYMLINK, 0, mtime, target=info.linkname)
    if info.islnk():
        target = earlier.get(clean_name(info.linkname) or "")
        if target is not None and target.type == FILE:
            return Member(path, FILE, target.size, mtime, target.offset)
        return None
    return Member(path, OTHER, 0, mtime)


class _Inflated:
    """The uncompressed stream as a readable file, noting where each gzip member starts."""

    def __init__(self, file: BinaryIO) -> None:
        self._pieces = inflate_members(file)
        self._piece = b""
        self._at = 0  # in the current piece
        self._produced = 0  # uncompressed bytes received so far
        self.checkpoints: list[Checkpoint] = []

    def read(self, size: int = -1) -> bytes:
        taken: list[bytes] = []
        wanted = size if size >= 0 else 1 << 62
        while wanted > 0:
            if self._at == len(self._piece) and not self._next():
                break
            part = self._piece[self._at : self._at + wanted]
            self._at += len(part)
            wanted -= len(part)
            taken.append(part)
        return b"".join(taken)

    def _next(self) -> bool:
        for start, data in self._pieces:
            if not data:
                self.checkpoints.append(Checkpoint(start, self._produced))
                continue
            self._piece, self._at = data, 0
            self._produced += len(data)
            return True
        return False


def scan(archive: Path) -> ArchiveIndex:
    """Build the index by reading the whole archive once."""
    try:
        with archive.open("rb") as file:
            inflated = _Inflated(file)
            with tarfile.open(fileobj=inflated, mode="r|") as tar:  # type: ignore[call-overload]
                infos = list(tar)
            return from_infos(infos, inflated.checkpoints, archive)
    except (tarfile.TarError, CorruptArchive, OSError) as e:
        raise IndexUnreadable("the archive cannot be read as a tar.gz") from e


def save(index: ArchiveIndex, path: Path) -> None:
    """Write atomically (a reader never sees half an index)."""
    body = {
        "format": FORMAT,
        "archive_size": index.archive_size,
        "archive_mtime_ns": index.archive_mtime_ns,
        "checkpoints": [[c.compressed, c.uncompressed] for c in index.checkpoints],
        "members": [[m.path, m.type, m.size, m.mtime, m.offset, m.target] for m in index.members],
    }
    write_atomically(path, json.dumps(body, separators=(",", ":")))


def write_atomically(path: Path, text: str) -> None:
    """Under a temporary name, renamed when complete; nothing is left behind on failure."""
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def load(path: Path) -> ArchiveIndex | None:
    """The saved index, or None if there is none or it is not one this version reads."""
    try:
        body: dict[str, Any] = json.loads(path.read_bytes())
        if body.get("format") != FORMAT:
            return None
        return ArchiveIndex(
            members=tuple(Member(*fields) for fields in body["members"]),
            checkpoints=tuple(Checkpoint(c, u) for c, u in body["checkpoints"]),
            archive_size=int(body["archive_size"]),
            archive_mtime_ns=int(body["archive_mtime_ns"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
