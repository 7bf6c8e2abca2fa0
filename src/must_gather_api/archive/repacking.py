"""Re-packing an archive made elsewhere (an image's own, or a local one given to the CLI)
through a transform, without extracting it.

Two passes over the source, both streamed: ``survey`` finds the single top directory the
members share (must-gather-clean's root) and keeps the few small files a transform needs
to see first (where the cluster's domain is named); ``repack`` then writes the new archive
member by member, each regular file spooled once (memory up to ``SPOOL_BYTES``, then a
temporary file) so a transform may read it more than once. Only regular files,
directories and symlinks are carried; names outside the archive (``..``, absolute) are
dropped. All functions here block: call them off the event loop.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast

from isal import igzip, isal_zlib

from must_gather_api.archive.index import IndexUnreadable, clean_name
from must_gather_api.archive.packing import Packed, write_archive
from must_gather_api.archive.transforming import SPOOL_BYTES, Entry, MemberTransform

_WANTED_MAX = 32 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_INFLATE_ERROR = cast("type[Exception]", isal_zlib.error)  # its stub types it as an instance


@dataclass(frozen=True)
class Survey:
    top: str
    # Wanted files (relative to the top), read whole; each at most 32 MiB.
    files: tuple[tuple[str, bytes], ...] = field(default=())

    def openers(self) -> list[tuple[str, Callable[[], IO[bytes]]]]:
        return [(name, _bytes_opener(data)) for name, data in self.files]


def survey(source: Path, *, wanted: Callable[[str], bool] = lambda _name: False) -> Survey:
    """The source's top directory ("" if its members share none) and its wanted files."""
    tops: set[str] = set()
    nested = True
    found: list[tuple[str, bytes]] = []
    for member, name, tar in _members(source):
        first, slash, _rest = name.partition("/")
        tops.add(first)
        if not slash and not member.isdir():
            nested = False
        if member.isreg() and member.size <= _WANTED_MAX and wanted(name):
            content = tar.extractfile(member)
            if content is not None:
                found.append((name, content.read()))
    top = tops.pop() if len(tops) == 1 and nested else ""
    prefix = f"{top}/" if top else ""
    return Survey(top=top, files=tuple((n.removeprefix(prefix), d) for n, d in found))


def repack(
    source: Path,
    surveyed: Survey,
    destination: Path,
    *,
    partial: Path,
    limit: int | None,
    transform: MemberTransform | None,
    top: str = "must-gather",
) -> Packed:
    """``source`` re-written at ``destination`` under ``surveyed.top`` (or ``top``)."""
    return write_archive(
        _entries(source, surveyed.top, partial.parent),
        destination,
        partial=partial,
        limit=limit,
        top=surveyed.top or top,
        transform=transform,
    )


def _entries(source: Path, top: str, spool_dir: Path) -> Iterator[Entry]:
    prefix = f"{top}/" if top else ""
    yield Entry("", _directory())
    for member, name, tar in _members(source):
        if name == top:
            continue
        relative = name.removeprefix(prefix)
        info = tarfile.TarInfo(relative)
        info.mtime = int(member.mtime)
        info.mode = member.mode & 0o755
        if member.isdir():
            info.type = tarfile.DIRTYPE
            yield Entry(relative, info)
        elif member.issym():
            info.type = tarfile.SYMTYPE
            info.linkname = member.linkname
            yield Entry(relative, info)
        elif member.isreg():
            content = tar.extractfile(member)
            if content is None:
                continue
            with tempfile.NamedTemporaryFile(dir=str(spool_dir), prefix="member.") as spool:
                shutil.copyfileobj(content, spool, SPOOL_BYTES)
                spool.flush()
                info.size = spool.tell()
                yield Entry(relative, info, _file_opener(spool.name))


def _members(source: Path) -> Iterator[tuple[tarfile.TarInfo, str, tarfile.TarFile]]:
    try:
        with _opened(source) as tar:
            for member in tar:
                name = clean_name(member.name)
                if name is not None and (member.isreg() or member.isdir() or member.issym()):
                    yield member, name, tar
    except (tarfile.TarError, EOFError, OSError, _INFLATE_ERROR) as e:
        raise IndexUnreadable(f"not a readable tar archive: {type(e).__name__}") from e


@contextlib.contextmanager
def _opened(source: Path) -> Iterator[tarfile.TarFile]:
    """The archive as a stream. tarfile's own stream mode ends a gzip file at its first
    member, and the service's archives are many gzip members (``seekable``): gzip is read
    by a reader that goes on through them all."""
    with source.open("rb") as file:
        magic = file.read(2)
    if magic != _GZIP_MAGIC:
        with _opened(source) as tar:
            yield tar
        return
    with igzip.open(source, "rb") as stream, tarfile.open(fileobj=stream, mode="r|") as tar:  # type: ignore[no-untyped-call]
        yield tar


def _directory() -> tarfile.TarInfo:
    info = tarfile.TarInfo("")
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info


def _bytes_opener(data: bytes) -> Callable[[], IO[bytes]]:
    return lambda: io.BytesIO(data)


def _file_opener(path: str) -> Callable[[], IO[bytes]]:
    return lambda: open(path, "rb")
