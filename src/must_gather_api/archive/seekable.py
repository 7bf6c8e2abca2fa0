"""Gzip that can be read from the middle: independently compressed members, and reading them.

gzip is not seekable: a byte deep in the stream depends on everything before it. But a
gzip file may be a series of complete gzip members, and every reader (`gzip -d`,
`tar xzf`, Python's gzip and tarfile) reads such a file as one stream. ``MemberWriter``
ends a member and starts a new one after every ``SPAN`` bytes of input, and records each
member's start as a ``Checkpoint`` (its offset in the file, and in the uncompressed
stream). To read from uncompressed offset N, start decompressing at the last checkpoint
at or before N and skip at most ``SPAN`` bytes. Deflate's window is 32 KiB, so spans of
256 KiB cost well under 1% of compression. All functions here block.
"""

from __future__ import annotations

import bisect
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO, Protocol, cast

from isal import isal_zlib

SPAN = 256 * 1024
_GZIP_WBITS = 31  # a gzip header and trailer around raw deflate
_READ = 256 * 1024
_OUT = 1024 * 1024
_INFLATE_ERROR = cast("type[Exception]", isal_zlib.error)  # its stub types it as an instance


class CorruptArchive(Exception):
    """The archive is not (complete) gzip, or not the one its index describes."""


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


@dataclass(frozen=True)
class Checkpoint:
    """A gzip member starts at ``compressed`` in the file and ``uncompressed`` in the stream."""

    compressed: int
    uncompressed: int


class MemberWriter:
    """A binary writer that compresses into ``target`` as gzip members of ``span`` bytes each.

    ``target`` needs ``write`` only; ``tell`` gives the uncompressed bytes written so far.
    The members are independent, so they are compressed side by side (``COMPRESSORS``
    threads; isal lets go of the interpreter lock while it compresses) and written to
    ``target`` in order: packing is bound by compression, and this nearly halves it on two
    cores. At most ``_AHEAD`` members wait, so memory stays a few spans.
    """

    def __init__(self, target: Sink, *, level: int, span: int = SPAN) -> None:
        self._target = target
        self._level = level
        self._span = span
        self._compressed = 0
        self._submitted = 0
        self._buffer = bytearray()
        self._pending: deque[tuple[int, Future[list[bytes]]]] = deque()
        self.checkpoints: list[Checkpoint] = []

    def tell(self) -> int:
        return self._submitted + len(self._buffer)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            whole = (len(view) - done) // self._span * self._span
            if not self._buffer and isinstance(data, bytes) and whole:
                # Whole spans of immutable bytes go to a compressor as they are (no copy),
                # together: each hand-over between threads costs the interpreter lock twice.
                self._submit(view[done : done + whole])
                done += whole
                continue
            take = min(self._span - len(self._buffer), len(view) - done)
            self._buffer += view[done : done + take]
            done += take
            if len(self._buffer) == self._span:
                self._submit()
        return len(view)

    def close(self) -> None:
        """Ends the last member; a file with no input still gets one (empty) member."""
        if self._buffer or not (self.checkpoints or self._pending):
            self._submit()
        while self._pending:
            self._write_next()

    def flush(self) -> None:
        self._target.flush()

    def _submit(self, whole: memoryview | None = None) -> None:
        piece: bytes | memoryview = whole if whole is not None else bytes(self._buffer)
        if whole is None:
            self._buffer.clear()
        compressing = _pool().submit(_members, piece, self._level, self._span)
        self._pending.append((self._submitted, compressing))
        self._submitted += len(piece)
        while len(self._pending) > _AHEAD:
            self._write_next()

    def _write_next(self) -> None:
        uncompressed, compressing = self._pending.popleft()
        for member in compressing.result():
            self.checkpoints.append(Checkpoint(self._compressed, uncompressed))
            self._target.write(member)
            self._compressed += len(member)
            uncompressed += self._span  # every member but a last one holds a whole span


COMPRESSORS = 2
_AHEAD = 2 * COMPRESSORS
_compressors: ThreadPoolExecutor | None = None
_compressors_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """One pool per process: idle threads hold nothing, and a worker process packs one
    archive at a time."""
    global _compressors
    with _compressors_lock:
        if _compressors is None:
            _compressors = ThreadPoolExecutor(COMPRESSORS, thread_name_prefix="compress")
        return _compressors


def _members(data: bytes | memoryview, level: int, span: int) -> list[bytes]:
    """``data`` as complete gzip members of ``span`` bytes each (one, if it is empty)."""
    return [
        isal_zlib.compress(data[start : start + span], level, _GZIP_WBITS)
        for start in range(0, max(len(data), 1), span)
    ]


def inflate_members(file: BinaryIO, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """Uncompressed pieces of a (multi-member) gzip file read from ``start``.

    Yields ``(offset of the member's start in the file, data)``; a new member begins
    where the offset changes, and its first piece is empty. No piece is longer than
    ``_OUT`` (a small, highly compressed input does not become one huge buffer). Raises
    ``CorruptArchive`` on data that is not gzip or ends inside a member.
    """
    file.seek(start)
    member_start = position = start
    decompressor = isal_zlib.decompressobj(_GZIP_WBITS)
    yield member_start, b""
    pending = b""
    while True:
        chunk = pending or file.read(_READ)
        pending = b""
        if not chunk:
            if position != member_start:
                raise CorruptArchive("the archive ends inside a gzip member")
            return
        while True:
            try:
                data = decompressor.decompress(chunk, _OUT)
            except _INFLATE_ERROR as e:
                raise CorruptArchive("the archive is not valid gzip") from e
            if decompressor.eof:
                rest = decompressor.unused_data
                position += len(chunk) - len(rest)
                if data:
                    yield member_start, data
                break
            tail = decompressor.unconsumed_tail
            position += len(chunk) - len(tail)
            if data:
                yield member_start, data
            if not tail and len(data) < _OUT:
                break
            chunk = tail
        if decompressor.eof:
            # Padding (zeros) after the last member is allowed, as gzip -d allows it.
            if not rest.strip(b"\0") and not _more(file):
                return
            member_start = position
            decompressor = isal_zlib.decompressobj(_GZIP_WBITS)
            pending = rest
            yield member_start, b""


def _more(file: BinaryIO) -> bool:
    """Whether anything but zero padding follows (reads ahead; seeks back)."""
    here = file.tell()
    while chunk := file.read(_READ):
        if chunk.strip(b"\0"):
            file.seek(here)
            return True
    file.seek(here)
    return False


def read_span(
    file: BinaryIO, checkpoints: Sequence[Checkpoint], start: int, length: int
) -> Iterator[bytes]:
    """``length`` uncompressed bytes from offset ``start`` of the stream, in pieces."""
    if length <= 0:
        return
    keys = [c.uncompressed for c in checkpoints]
    at = checkpoints[max(bisect.bisect_right(keys, start) - 1, 0)]
    skip = start - at.uncompressed
    left = length
    for _member, data in inflate_members(file, at.compressed):
        if skip >= len(data):
            skip -= len(data)
            continue
        piece = data[skip : skip + left]
        skip = 0
        left -= len(piece)
        if piece:
            yield piece
        if left == 0:
            return
    raise CorruptArchive("the archive ends before the member does")
