"""Cleaning a byte stream: whole lines at a time, in blocks, with flat memory.

Text is read in blocks of about a MiB cut after their last newline, so no match is split
(the patterns never cross a line). A line longer than ``MAX_LINE`` is cut at its last
separator (space, quote, comma, bracket...) before that length, which no address, MAC or
domain contains; only a line without any separator for that long is cut blindly. Bytes
that are not UTF-8 pass through unchanged (``surrogateescape``). Members compressed with
gzip, bzip2 or xz are decompressed, cleaned and compressed again.
"""

from __future__ import annotations

import bz2
import lzma
import re
from collections.abc import Callable
from typing import IO

from isal import igzip

BLOCK = 1 << 20
MAX_LINE = 4 << 20
_SEPARATOR = re.compile(rb"[\s\"'`,;()<>\[\]{}|=]")

_COMPRESSED: dict[str, Callable[..., IO[bytes]]] = {
    ".gz": igzip.open,
    ".bz2": bz2.open,
    ".xz": lzma.open,
}
# Archives inside the archive cannot be cleaned line by line (their headers count bytes):
# a redacted archive leaves them out.
UNCLEANABLE = (
    ".tar",
    ".tgz",
    ".tar.gz",
    ".tar.bz2",
    ".tar.xz",
    ".tar.zst",
    ".zip",
    ".zst",
    ".7z",
    ".rar",
    ".jar",
    ".lz4",
)


def compression_of(name: str) -> str:
    """The compressed suffix of ``name`` handled here, or ""."""
    lowered = name.lower()
    for suffix in _COMPRESSED:
        if lowered.endswith(suffix):
            return suffix
    return ""


def uncleanable(name: str) -> bool:
    return name.lower().endswith(UNCLEANABLE)


def clean_stream(source: IO[bytes], sink: IO[bytes], clean: Callable[[str], str]) -> None:
    """Write ``source`` to ``sink`` with ``clean`` applied to its text."""
    pending = b""
    while True:
        chunk = source.read(BLOCK)
        if not chunk:
            break
        data = pending + chunk
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(data) >= MAX_LINE:
            cut = _separator_cut(data)
        if cut == 0:
            pending = data
            continue
        sink.write(_apply(data[:cut], clean))
        pending = data[cut:]
    if pending:
        sink.write(_apply(pending, clean))


def clean_member(
    name: str, source: IO[bytes], sink: IO[bytes], clean: Callable[[str], str]
) -> None:
    """Like ``clean_stream``, through the member's compression when it has one."""
    suffix = compression_of(name)
    if not suffix:
        clean_stream(source, sink, clean)
        return
    opener = _COMPRESSED[suffix]
    with opener(source, "rb") as inner_source, opener(sink, "wb") as inner_sink:
        clean_stream(inner_source, inner_sink, clean)


def _separator_cut(data: bytes) -> int:
    last = 0
    for match in _SEPARATOR.finditer(data):
        last = match.end()
    return last or len(data)


def _apply(data: bytes, clean: Callable[[str], str]) -> bytes:
    return clean(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
