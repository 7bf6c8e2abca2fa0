"""Undoing systemd-coredump's compression while a core streams: zstd, lz4 and xz.

systemd-coredump compresses with zstd (the default of current releases), lz4 or xz, and
names the file after it. Decompression runs in a thread, chunk by chunk; nothing is kept.
"""

from __future__ import annotations

import lzma
from collections.abc import Callable
from typing import Protocol

import lz4.frame  # type: ignore[import-untyped]
import zstandard

from must_gather_api.errors import UnsupportedCompression


class Decompressor(Protocol):
    def decompress(self, data: bytes) -> bytes: ...


class _Lz4:
    def __init__(self) -> None:
        self._inner = lz4.frame.LZ4FrameDecompressor()

    def decompress(self, data: bytes) -> bytes:
        out: bytes = self._inner.decompress(data)
        return out


def _zstd() -> Decompressor:
    return zstandard.ZstdDecompressor().decompressobj()


_BY_SUFFIX: dict[str, Callable[[], Decompressor]] = {
    ".zst": _zstd,
    ".lz4": _Lz4,
    ".xz": lzma.LZMADecompressor,
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
