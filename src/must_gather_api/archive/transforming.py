"""Members on their way into an archive, as they are or through a transform (redaction).

The packer walks its source once and hands each member here: with no transform it goes
in as it is; with one, its path may be renamed or the member left out, and a regular
file's contents are rewritten into a spooled temporary file (memory up to ``SPOOL_BYTES``,
then disk) so the tar header can carry the new size. Only one member is spooled at a
time: there is never a second copy of the tree. Two members renamed to one name keep
both, the later with ``.1``, ``.2``... appended, as must-gather-clean does.
All functions here block: call them off the event loop.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

SPOOL_BYTES = 8 << 20

Opener = Callable[[], IO[bytes]]


class MemberTransform(Protocol):
    def rename(self, relative: str, *, symlink: bool = False) -> str | None:
        """The member's new path, relative to the root; None leaves it out."""

    def clean_path(self, text: str) -> str:
        """A path as it must be written elsewhere (a symlink's target)."""

    def contents(self, relative: str, opener: Opener, sink: IO[bytes]) -> bool:
        """Write the new contents to ``sink``; False leaves the member out."""

    def extra_members(self) -> list[tuple[str, bytes]]:
        """Files to add at the root (a watermark)."""


@dataclass(frozen=True)
class Entry:
    """One member of the source: its path relative to the root, its header (named
    relative to the root), and how to read its data (regular files only)."""

    relative: str
    info: tarfile.TarInfo
    opener: Opener | None = None


def plain(
    entries: Iterable[Entry], *, top: str
) -> Iterator[tuple[tarfile.TarInfo, IO[bytes] | None]]:
    for entry in entries:
        if not entry.relative and not top:
            continue
        entry.info.name = _named(top, entry.relative)
        if entry.opener is None:
            yield entry.info, None
            continue
        with entry.opener() as content:
            yield entry.info, content


def transformed(
    entries: Iterable[Entry], transform: MemberTransform, *, top: str, spool_dir: Path
) -> Iterator[tuple[tarfile.TarInfo, IO[bytes] | None]]:
    taken: set[str] = set()
    mtime = 0
    for entry in entries:
        info = entry.info
        mtime = max(mtime, int(info.mtime))
        if not entry.relative:
            if top:
                info.name = top
                yield info, None
            continue
        renamed = transform.rename(entry.relative, symlink=info.issym())
        if renamed is None:
            continue
        info.name = _named(top, renamed if info.isdir() else _unique(renamed, taken))
        if info.issym():
            info.linkname = transform.clean_path(info.linkname)
        if entry.opener is None:
            yield info, None
            continue
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, dir=str(spool_dir)) as spool:
            if not transform.contents(entry.relative, entry.opener, spool):
                continue
            info.size = spool.tell()
            spool.seek(0)
            yield info, spool
    for name, data in transform.extra_members():
        yield _extra(top, name, data, mtime, taken)


def _named(top: str, relative: str) -> str:
    if not top:
        return relative
    return f"{top}/{relative}" if relative else top


def _unique(name: str, taken: set[str]) -> str:
    candidate = name
    number = 0
    while candidate in taken:
        number += 1
        candidate = f"{name}.{number}"
    taken.add(candidate)
    return candidate


def _extra(
    top: str, name: str, data: bytes, mtime: int, taken: set[str]
) -> tuple[tarfile.TarInfo, IO[bytes]]:
    info = tarfile.TarInfo(_named(top, _unique(name, taken)))
    info.size = len(data)
    info.mode = 0o644
    info.mtime = int(mtime)
    return info, io.BytesIO(data)
