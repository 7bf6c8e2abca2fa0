"""Streamed decompression of cores: the bytes come back whole, and a bomb is made one piece
at a time, never faster than the reader takes it."""

from __future__ import annotations

import asyncio
import lzma
import os
import threading
from collections.abc import AsyncGenerator, Callable

import lz4.frame  # type: ignore[import-untyped]
import pytest
import zstandard

from must_gather_api.cores import decompression
from must_gather_api.cores.decompression import PIECE, Emit, decompressed, decompressor_for
from must_gather_api.errors import UnsupportedCompression

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

COMPRESSIONS: dict[str, Callable[[bytes], bytes]] = {
    "core.1.zst": lambda data: zstandard.ZstdCompressor(level=3).compress(data),
    "core.1.lz4": lambda data: bytes(lz4.frame.compress(data)),
    "core.1.xz": lambda data: lzma.compress(data, preset=1),
}


async def chunks_of(data: bytes, size: int = 64 * 1024) -> AsyncGenerator[bytes, None]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
        await asyncio.sleep(0)


@pytest.mark.parametrize("core_id", sorted(COMPRESSIONS))
async def test_each_compression_comes_back_byte_for_byte(core_id: str) -> None:
    original = os.urandom(300_000) + b"line of a core\n" * 200_000
    packed = COMPRESSIONS[core_id](original)
    pieces = [p async for p in decompressed(decompressor_for(core_id), chunks_of(packed))]
    assert b"".join(pieces) == original
    assert all(0 < len(p) <= PIECE for p in pieces)


class Counting:
    """A decompressor that counts the pieces it made and says when its thread is done."""

    def __init__(self, inner: decompression.Decompressor) -> None:
        self.inner = inner
        self.made = 0
        self.done = threading.Event()

    def feed(self, data: bytes, emit: Emit) -> None:
        def counted(piece: bytes) -> None:
            self.made += 1
            emit(piece)

        try:
            self.inner.feed(data, counted)
        finally:
            self.done.set()


@pytest.mark.parametrize("core_id", sorted(COMPRESSIONS))
async def test_a_bomb_is_made_only_as_fast_as_it_is_read(core_id: str) -> None:
    bomb = COMPRESSIONS[core_id](bytes(256 * PIECE))  # 256 MiB of zeros, a few KiB packed
    assert len(bomb) < 2 * 1024 * 1024
    decompressor = Counting(decompressor_for(core_id))
    stream = decompressed(decompressor, chunks_of(bomb, size=len(bomb)))
    taken = 0
    async for piece in stream:
        assert len(piece) <= PIECE
        taken += 1
        if taken == 3:
            break
    await stream.aclose()
    # The thread stops at its next piece once the reader is gone.
    assert await asyncio.to_thread(decompressor.done.wait, 10)
    assert taken == 3
    assert decompressor.made <= taken + 2


async def test_other_compressions_are_refused_by_name() -> None:
    with pytest.raises(UnsupportedCompression, match="zstd"):
        decompressor_for("core.1.gz")
