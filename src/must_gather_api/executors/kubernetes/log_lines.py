"""The gather container's log, followed, as whole lines: each bounded, none trusted to end.

A log is the pod's to write, so a line may be of any length; aiohttp's ``readline`` gives up
on a long one, and a stream that breaks off mid-line leaves half a line that comes again
whole once the stream is reopened. So pieces are split here: a line longer than
``LINE_LIMIT`` is given clipped, and what follows its last newline is held back, for the
caller to give only when no stream will send it again.
"""

from __future__ import annotations

LINE_LIMIT = 64 * 1024  # bytes of one line; the rest of it is dropped
CLIPPED = "…".encode()


class Lines:
    """Whole lines out of a stream's pieces, in order, without their newlines."""

    def __init__(self, limit: int = LINE_LIMIT) -> None:
        self._limit = limit
        self._held = bytearray()
        self._dropping = False  # within a line given clipped: the rest goes, to its newline

    def feed(self, piece: bytes) -> list[bytes]:
        lines: list[bytes] = []
        start = 0
        while (end := piece.find(b"\n", start)) >= 0:
            if self._dropping:
                self._dropping = False
            else:
                self._held += piece[start:end]
                lines.append(self._take())
            start = end + 1
        if not self._dropping:
            self._held += piece[start:]
            if len(self._held) > self._limit:
                lines.append(self._take())
                self._dropping = True
        return lines

    def rest(self) -> bytes:
        """The piece after the last newline (a last line written without one)."""
        return self._take() if self._held else b""

    def _take(self) -> bytes:
        line = bytes(self._held)
        self._held.clear()
        return line if len(line) <= self._limit else line[: self._limit] + CLIPPED
