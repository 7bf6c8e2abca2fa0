"""Turn a gathered tree into the archive that is served.

When the tree holds exactly one file named ARCHIVE_FILENAME (the Forklift image packs
its own), that file is the archive as it is. Otherwise the whole tree is packed into a
tar.gz, compressed with isal in independent gzip members (``seekable``), and its index
(``index``) is recorded on the way, so one member can later be read without the rest.
Nothing from a pod is trusted: entries are added by walking the tree without following
links, symlinks are stored as links, and hard links, devices, FIFOs and sockets are left
out. The archive is written under a temporary name and renamed when complete, so a
half-written archive is never served.
All functions here block: call them off the event loop.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol, cast

from must_gather_api.archive.index import ArchiveIndex, IndexBuilder
from must_gather_api.archive.seekable import Checkpoint, MemberWriter
from must_gather_api.archive.transforming import (
    Entry,
    MemberTransform,
    Opener,
    plain,
    transformed,
)
from must_gather_api.errors import ExecutionFailed, FailureKind

_CHUNK = 1 << 20
_COMPRESS_LEVEL = 1


class ArchiveTooLarge(ExecutionFailed):
    """The archive outgrew MAX_ARCHIVE_BYTES."""

    kind = FailureKind.TOO_LARGE


@dataclass(frozen=True)
class Packed:
    size: int
    sha256: str
    entries: int
    # Derived from the archive (recorded while packing), not part of what identifies it.
    index: ArchiveIndex | None = field(default=None, compare=False)


class Indexer(Protocol):
    def add(self, info: tarfile.TarInfo) -> None: ...

    def build(self, checkpoints: Iterable[Checkpoint], archive: Path) -> ArchiveIndex | None: ...


class _CountingWriter:
    """Hashes and counts what passes through; stops at the size limit."""

    def __init__(self, target: BinaryIO, *, limit: int | None) -> None:
        self._target = target
        self._limit = limit
        self.size = 0
        self.digest = hashlib.sha256()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.size += len(data)
        if self._limit is not None and self.size > self._limit:
            raise ArchiveTooLarge(
                f"the archive grew past MAX_ARCHIVE_BYTES ({self._limit} bytes); "
                "gather less (a targeted command, --since) or raise the limit"
            )
        self.digest.update(data)
        return self._target.write(data)

    def flush(self) -> None:
        self._target.flush()


def find_packed_archive(tree: Path, filename: str) -> Path | None:
    """The single regular file named ``filename`` in ``tree``, if there is exactly one."""
    found: list[Path] = []
    for directory, _dirs, files in os.walk(tree):
        for name in files:
            if name == filename:
                candidate = Path(directory, name)
                if stat.S_ISREG(candidate.lstat().st_mode):
                    found.append(candidate)
    return found[0] if len(found) == 1 else None


def adopt(source: Path, destination: Path, *, partial: Path, limit: int | None) -> Packed:
    """Make ``source`` (an archive the image packed itself) the served archive."""
    size = source.lstat().st_size
    if limit is not None and size > limit:
        raise ArchiveTooLarge(
            f"the gathered archive is {size} bytes, more than MAX_ARCHIVE_BYTES ({limit})"
        )
    digest = hashlib.sha256()
    with source.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    shutil.move(source, partial)
    os.replace(partial, destination)
    return Packed(size=size, sha256=digest.hexdigest(), entries=1)


def pack(
    tree: Path,
    destination: Path,
    *,
    partial: Path,
    limit: int | None,
    top: str = "must-gather",
    transform: MemberTransform | None = None,
) -> Packed:
    """Pack ``tree`` as ``top/...`` (or as it is, when ``top`` is "") into a tar.gz at
    ``destination``, through ``transform`` (a redaction) when one is given: the index then
    describes the transformed archive."""
    return write_archive(
        tree_entries(tree), destination, partial=partial, limit=limit, top=top, transform=transform
    )


def write_archive(
    entries: Iterable[Entry],
    destination: Path,
    *,
    partial: Path,
    limit: int | None,
    top: str,
    transform: MemberTransform | None = None,
    indexed: Indexer | None = None,
) -> Packed:
    """Write ``entries`` as a tar.gz of independent gzip members, with its index (kept in
    memory, or written by ``indexed``: then ``Packed.index`` is what it returns)."""
    written = 0
    indexed = indexed or IndexBuilder()
    members = (
        plain(entries, top=top)
        if transform is None
        else transformed(entries, transform, top=top, spool_dir=partial.parent)
    )
    try:
        with partial.open("wb") as raw:
            counted = _CountingWriter(raw, limit=limit)
            compressed = MemberWriter(counted, level=_COMPRESS_LEVEL)
            # Not the stream mode ("w|"): it keeps what it is given in one buffer and cuts
            # 10 KiB off its front at a time, so each 1 MiB piece was copied about fifty
            # times over (40% of packing's CPU). This mode hands each piece straight to the
            # compressor; the bytes written are the same.
            with tarfile.open(
                fileobj=cast(IO[bytes], compressed), mode="w", format=tarfile.PAX_FORMAT
            ) as opened:
                tar: Any = opened  # copybufsize and members are not in its stubs
                # tarfile copies in 16 KiB pieces by default; 1 MiB pieces let isal compress
                # (without the GIL) long enough that the event loop is not starved.
                tar.copybufsize = _CHUNK
                for info, content in members:
                    if content is not None:
                        tar.addfile(info, content)
                        # The data ends at the tar's offset, before padding to a block.
                        padded = -(-info.size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
                        info.offset_data = tar.offset - padded
                    else:
                        tar.addfile(info)
                    indexed.add(info)
                    # tarfile keeps every member it wrote; a million of them is ~0.5 GiB.
                    tar.members.clear()
                    written += 1
            compressed.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, destination)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Packed(
        size=counted.size,
        sha256=counted.digest.hexdigest(),
        entries=written,
        index=indexed.build(compressed.checkpoints, destination),
    )


def tree_entries(tree: Path) -> Iterator[Entry]:
    """Each entry as the walk finds it: none is kept, so a million files cost no memory."""
    root_info = tarfile.TarInfo("")
    root_info.type = tarfile.DIRTYPE
    root_info.mode = 0o755
    yield Entry("", root_info)
    for directory, dirs, files in os.walk(tree):
        dirs.sort()
        for name in sorted(dirs) + sorted(files):
            path = Path(directory, name)
            relative = path.relative_to(tree).as_posix()
            info = _info(path, relative)
            if info is not None:
                yield Entry(relative, info, _opener(path) if info.isreg() else None)


def _opener(path: Path) -> Opener:
    return lambda: path.open("rb")


def _info(path: Path, arcname: str) -> tarfile.TarInfo | None:
    try:
        status = path.lstat()
    except OSError:
        return None
    info = tarfile.TarInfo(arcname)
    info.mtime = int(status.st_mtime)
    info.mode = stat.S_IMODE(status.st_mode) & 0o755
    if stat.S_ISDIR(status.st_mode):
        info.type = tarfile.DIRTYPE
    elif stat.S_ISLNK(status.st_mode):
        info.type = tarfile.SYMTYPE
        info.linkname = os.readlink(path)
    elif stat.S_ISREG(status.st_mode):
        info.type = tarfile.REGTYPE
        info.size = status.st_size
    else:
        return None  # devices, FIFOs, sockets: nothing a person needs, and unsafe to read
    return info
