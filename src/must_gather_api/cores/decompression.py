"""Undoing systemd-coredump's compression while a core streams: zstd, lz4 and xz.

systemd-coredump compresses with zstd (the default of current releases), lz4 or xz, and
names the file after it. A core is the crashed process's memory, so its bytes are not ours
to trust: a few KiB of zstd can stand for GiBs of one repeated byte. Decompression
therefore never holds more than ``PIECE`` bytes of output at once: it runs in a thread,
chunk by chunk, and hands each piece to the response before it makes the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import lzma
import threading
from collections.abc import AsyncGenerator, Callable
from typing import IO, Protocol, cast

import lz4.frame  # type: ignore[import-untyped]
import zstandard

from must_gather_api.errors import UnsupportedCompression

PIECE = 1 << 20
"""The most decompressed bytes made before the response takes them."""

Emit = Callable[[bytes], None]


class Decompressor(Protocol):
    def feed(self, data: bytes, emit: Emit) -> None:
        """Decompresses ``data``, calling ``emit`` with pieces of at most ``PIECE`` bytes
        (blocking: it runs in a thread)."""


class _Stepwise:
    """lzma's and lz4's decompressors, which stop at ``max_length`` and say when they need
    more input."""

    def __init__(self, inner: lzma.LZMADecompressor | lz4.frame.LZ4FrameDecompressor) -> None:
        self._inner = inner

    def feed(self, data: bytes, emit: Emit) -> None:
        if self._inner.eof:
            return  # what follows the end of the stream is not part of the core
        out = self._inner.decompress(data, PIECE)
        while True:
            if out:
                emit(out)
            if self._inner.eof or self._inner.needs_input:
                return
            out = self._inner.decompress(b"", PIECE)


class _Emitting:
    """What zstd's stream writer writes to: each piece goes straight to ``emit``."""

    def __init__(self) -> None:
        self.emit: Emit | None = None

    def write(self, data: bytes) -> int:
        assert self.emit is not None
        self.emit(bytes(data))
        return len(data)


class _Zstd:
    def __init__(self) -> None:
        self._out = _Emitting()
        self._writer = zstandard.ZstdDecompressor().stream_writer(
            cast("IO[bytes]", self._out), write_size=PIECE, closefd=False
        )

    def feed(self, data: bytes, emit: Emit) -> None:
        self._out.emit = emit
        self._writer.write(data)


_BY_SUFFIX: dict[str, Callable[[], Decompressor]] = {
    ".zst": _Zstd,
    ".lz4": lambda: _Stepwise(lz4.frame.LZ4FrameDecompressor()),
    ".xz": lambda: _Stepwise(lzma.LZMADecompressor()),
}


def decompressed_name(core_id: str) -> str:
    for suffix in _BY_SUFFIX:
        if core_id.endswith(suffix):
            return core_id.removesuffix(suffix)
    return core_id


def decompressor_for(core_id: str) -> Decompressor:
    """A new decompressor for the core's compression, or UnsupportedCompression (415)."""
    for suffix, make in _BY_SUFFIX.items():
        if core_id.endswith(suffix):
            return make()
    raise UnsupportedCompression(
        "decompress=true works for cores compressed with zstd (.zst), lz4 (.lz4) or xz (.xz); "
        "download this one without it"
    )


class _Stopped(Exception):
    """The reader went away: the decompressing thread ends instead of waiting for it."""


_WAKE_SECONDS = 0.1
"""How often a thread waiting to hand over a piece looks whether the reader went away."""


async def decompressed(
    decompressor: Decompressor, chunks: AsyncGenerator[bytes, None]
) -> AsyncGenerator[bytes, None]:
    """The decompressed pieces of ``chunks``, one at a time: the thread that makes them waits
    while the response sends the last one, and ends soon after the response does."""
    loop = asyncio.get_running_loop()
    pieces: asyncio.Queue[bytes | None] = asyncio.Queue()
    room = threading.Semaphore(1)
    stopped = threading.Event()

    def emit(piece: bytes) -> None:
        while not room.acquire(timeout=_WAKE_SECONDS):
            if stopped.is_set():
                raise _Stopped
        loop.call_soon_threadsafe(pieces.put_nowait, piece)

    async def produce() -> None:
        try:
            async with contextlib.aclosing(chunks):
                async for chunk in chunks:
                    await asyncio.to_thread(decompressor.feed, chunk, emit)
        finally:
            pieces.put_nowait(None)

    producer = asyncio.create_task(produce(), name="decompress-core")
    try:
        while (piece := await pieces.get()) is not None:
            yield piece
            room.release()
        await producer  # a failure to read or decompress is the download's
    finally:
        # A thread still decompressing stops at its next piece; the node's stream closes.
        stopped.set()
        producer.cancel()
        await asyncio.gather(producer, return_exceptions=True)
