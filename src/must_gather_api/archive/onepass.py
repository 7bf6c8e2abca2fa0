"""The served archive straight from the pods' raw tar copies, each read once.

Extraction then packing wrote every byte to a work tree and read it back. Here each pod's
raw copy (``Source``) is read once: every member is decided by the same rules as
extraction (``members.Rules``), renamed under the folder extraction would have put it in
(the oc layout), and written into the tar.gz with its index and sha256 as it goes
(``packing.write_archive``). The work tree now holds only the service's own files; they go
in first, then each stream's members in stream order, so the archive has the same members
(names, types, sizes, modes, link targets, contents) as extraction-then-packing, in
another order.

What the one pass cannot do is take back a member: a stream that replaces something it
wrote before (a name twice, a file where a directory was, a member under a file) raises
``Clash`` before that member is written, and ``build`` then falls back to extraction and
packing, which has the answer the filesystem gives. Ordinary copies never do this.

What has been written is remembered per stream: directories and symlinks by name, files by
the hash of their name (a million names would cost a hundred MB more). A hash can only
collide into a ``Clash``, never into a different archive.
All functions here block; meant to run in the isolated worker.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast

from must_gather_api.archive import event_filter, packing, unpacking
from must_gather_api.archive.index_spool import SpooledIndex
from must_gather_api.archive.members import Extracted, Rules, clean_name
from must_gather_api.archive.tarstream import Member, TarReader
from must_gather_api.archive.transforming import Entry

TOP = "must-gather"  # the archive's root directory, as packing.pack names it


class Clash(Exception):
    """A stream replaces something it wrote before: only extraction can build it."""


@dataclass(frozen=True)
class Source:
    tar: Path  # a pod's raw tar copy
    folder: str  # where in the tree extraction would unpack it: "<image>" or "<node>/<image>"


@dataclass(frozen=True)
class Built:
    packed: packing.Packed
    extracted: tuple[Extracted, ...]  # one per source, in order
    one_pass: bool  # False when a clash sent it through extraction


def build(
    tree: Path,
    sources: list[Source],
    destination: Path,
    *,
    partial: Path,
    limit: int | None,
    max_entries: int | None,
    index_path: Path | None = None,
    events: bool = False,
) -> Built:
    """The archive of ``tree`` with each source unpacked under its folder, as ``packing.pack``
    would write it after extraction. ``limit`` bounds the gathered data (unpacking.TooLarge)
    and the archive (packing.ArchiveTooLarge); ``max_entries`` each stream's entries. With
    ``index_path``, the one pass writes the index there as it goes (``Packed.index`` is
    then None); the fallback's index is in ``Packed.index``, as packing's always is. With
    ``events``, the archive also holds ``event-filter.html`` of the sources' events.yaml
    files, as the executor writes it into an extracted tree."""
    if events:
        write_events_page(tree, sources, max_entries=max_entries)
    folders = [source.folder for source in sources]
    if len(set(folders)) == len(folders):  # two streams into one folder merge on disk only
        try:
            packed, extracted = pack_streams(
                tree,
                sources,
                destination,
                partial=partial,
                limit=limit,
                max_entries=max_entries,
                index_path=index_path,
            )
            return Built(packed, extracted, one_pass=True)
        except Clash:
            pass
    found = extract_all(tree, sources, limit=limit, max_entries=max_entries, events=events)
    packed = packing.pack(tree, destination, partial=partial, limit=limit)
    return Built(packed, found, one_pass=False)


def extract_all(
    tree: Path,
    sources: list[Source],
    *,
    limit: int | None,
    max_entries: int | None,
    events: bool = False,
) -> tuple[Extracted, ...]:
    """Each source unpacked under its folder in ``tree`` (and, with ``events``, the tree's
    ``event-filter.html`` of their events.yaml files): the tree the one pass stands for."""
    found: list[Extracted] = []
    for source in sources:
        used = _data_size(tree)
        with source.tar.open("rb") as raw:
            found.append(
                unpacking.extract(
                    raw, tree / source.folder, limit=limit, used=used, max_entries=max_entries
                )
            )
    if events:
        rows: list[event_filter.Row] = []
        for folder in dict.fromkeys(source.folder for source in sources):
            rows += event_filter.tree_rows(tree / folder)
        (tree / event_filter.PAGE).write_text(event_filter.render_rows(rows), encoding="utf-8")
    return tuple(found)


def pack_streams(
    tree: Path,
    sources: list[Source],
    destination: Path,
    *,
    partial: Path,
    limit: int | None,
    max_entries: int | None,
    index_path: Path | None = None,
) -> tuple[packing.Packed, tuple[Extracted, ...]]:
    """The one pass; Clash (and nothing at ``destination`` or ``partial``) when a stream
    replaces what it wrote. The index is written to ``index_path`` as it goes, if given."""
    for source in sources:
        if not (tree / source.folder).is_dir():
            raise ValueError(f"no folder {source.folder!r} in the tree for a stream")
    results: list[Extracted] = []
    entries = _entries(tree, sources, limit=limit, max_entries=max_entries, results=results)
    if index_path is None:
        packed = packing.write_archive(entries, destination, partial=partial, limit=limit, top=TOP)
        return packed, tuple(results)
    with SpooledIndex(index_path) as spooled:
        packed = packing.write_archive(
            entries, destination, partial=partial, limit=limit, top=TOP, indexed=spooled
        )
    return packed, tuple(results)


class _Written:
    """What is in the tree under one folder so far, as extraction's disk would show it."""

    def __init__(self) -> None:
        self.directories: set[str] = set()
        self.links: set[str] = set()
        self.files: set[int] = set()  # hashes of the names

    @classmethod
    def of(cls, folder: Path) -> _Written:
        """What the service put there itself (gather.logs)."""
        written = cls()
        for directory, dirs, files in os.walk(folder):
            for name in dirs + files:
                path = Path(directory, name)
                relative = path.relative_to(folder).as_posix()
                mode = path.lstat().st_mode
                if stat.S_ISDIR(mode):
                    written.directories.add(relative)
                elif stat.S_ISLNK(mode):
                    written.links.add(relative)
                else:
                    written.files.add(hash(relative))
        return written

    def taken(self, relative: str) -> bool:
        return (
            relative in self.directories or relative in self.links or hash(relative) in self.files
        )

    def blocked(self, relative: str) -> bool:
        """A parent is a symlink (skipped, as extraction does) or a file (a Clash)."""
        for parent in _parents(relative):
            if parent in self.directories:
                continue
            if parent in self.links:
                return True
            if hash(parent) in self.files:
                raise Clash(parent)
            return False  # not there, so neither is anything under it
        return False


def _parents(relative: str) -> Iterator[str]:
    position = relative.find("/")
    while position != -1:
        yield relative[:position]
        position = relative.find("/", position + 1)


def _entries(
    tree: Path,
    sources: list[Source],
    *,
    limit: int | None,
    max_entries: int | None,
    results: list[Extracted],
) -> Iterator[Entry]:
    used = 0
    for entry in packing.tree_entries(tree):
        if entry.info.isreg():
            used += entry.info.size
        yield entry
    modes = _Modes()
    for source in sources:
        rules = Rules(limit=limit, used=used)
        results.append(rules.result)
        yield from _stream_entries(tree, source, rules, modes, max_entries=max_entries)
        used += rules.result.bytes


class _Modes:
    """The modes extraction's files, directories and symlinks get, as packing reads them."""

    def __init__(self) -> None:
        mask = os.umask(0o022)
        os.umask(mask)
        self.file = 0o644 & ~mask & 0o755
        self.directory = 0o755 & ~mask
        self.symlink = 0o755
        self.now = int(time.time())


def _stream_entries(
    tree: Path,
    source: Source,
    rules: Rules,
    modes: _Modes,
    *,
    max_entries: int | None,
) -> Iterator[Entry]:
    written = _Written.of(tree / source.folder)
    with source.tar.open("rb") as raw:
        reader = TarReader(raw, max_entries=max_entries)
        for member in reader:
            relative = rules.place(member, blocked=written.blocked)
            if relative is None:
                continue
            if member.kind == "directory" and relative in written.directories:
                rules.result.kept(member)  # extraction's mkdir finds it there
                continue
            if written.taken(relative):
                raise Clash(relative)
            for parent in _parents(relative):
                if parent not in written.directories:
                    written.directories.add(parent)
                    yield _directory(f"{source.folder}/{parent}", modes)
            name = f"{source.folder}/{relative}"
            if member.kind == "directory":
                written.directories.add(relative)
                yield _directory(name, modes)
            elif member.kind == "file":
                written.files.add(hash(relative))
                yield _file(name, member, reader, modes)
            else:
                written.links.add(relative)
                yield _symlink(name, member, modes)
            rules.result.kept(member)


def _directory(name: str, modes: _Modes) -> Entry:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = modes.directory
    info.mtime = modes.now
    return Entry(name, info)


def _symlink(name: str, member: Member, modes: _Modes) -> Entry:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.mode = modes.symlink
    info.mtime = modes.now
    info.linkname = member.linkname
    return Entry(name, info)


def _file(name: str, member: Member, reader: TarReader, modes: _Modes) -> Entry:
    info = tarfile.TarInfo(name)
    info.type = tarfile.REGTYPE
    info.mode = modes.file
    info.mtime = member.mtime or modes.now
    info.size = member.size
    return Entry(name, info, lambda: cast(IO[bytes], _Data(reader.chunks())))


@dataclass
class Survey:
    """What one walk over the sources' headers finds before the pass."""

    named: int = 0  # regular files called the name asked about (an image's own archive)
    rows: list[event_filter.Row] = field(default_factory=list)  # event-filter.html's


def survey(sources: list[Source], *, filename: str, max_entries: int | None) -> Survey:
    """One walk over each source: the files named ``filename`` in any folder, and the
    rows of every events.yaml kept as extraction would keep it (not under a symlink the
    stream sent); only those files' data is read."""
    found = Survey()
    for source in sources:
        links: set[str] = set()
        with source.tar.open("rb") as raw:
            reader = TarReader(raw, max_entries=max_entries)
            for member in reader:
                relative = clean_name(member.name)
                if relative is None:
                    continue
                if member.kind == "symlink":
                    links.add(relative)
                if member.kind != "file":
                    continue
                base = relative.rsplit("/", 1)[-1]
                if base == filename:
                    found.named += 1
                if base != "events.yaml" or member.size > event_filter.MAX_EVENTS_FILE:
                    continue
                if any(parent in links for parent in _parents(relative)):
                    continue
                data = b"".join(reader.chunks())
                found.rows += event_filter.rows_of(data, f"{source.folder}/{relative}")
    return found


def write_events_page(tree: Path, sources: list[Source], *, max_entries: int | None) -> None:
    """``event-filter.html`` in ``tree``, of the events.yaml files of the sources, read
    ahead of the pass, so the page sits at the tree's root where the executor puts it,
    among the archive's first members."""
    write_page(tree, survey(sources, filename="", max_entries=max_entries).rows)


def write_page(tree: Path, rows: list[event_filter.Row]) -> None:
    (tree / event_filter.PAGE).write_text(event_filter.render_rows(rows), encoding="utf-8")


class _Data(io.RawIOBase):
    """A member's data as a file, read from the stream as the packer asks for it."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._piece = memoryview(b"")

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        wanted = size if size >= 0 else 1 << 62
        taken: list[bytes] = []
        while wanted > 0:
            if not self._piece:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                if len(chunk) <= wanted and not taken:
                    wanted -= len(chunk)
                    taken.append(chunk)  # the usual case: a whole chunk, not copied
                    continue
                self._piece = memoryview(chunk)
            part = self._piece[:wanted]
            self._piece = self._piece[len(part) :]
            wanted -= len(part)
            taken.append(bytes(part))
        return taken[0] if len(taken) == 1 else b"".join(taken)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _data_size(tree: Path) -> int:
    total = 0
    for directory, _dirs, files in os.walk(tree):
        for name in files:
            info = os.lstat(os.path.join(directory, name))
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
    return total
