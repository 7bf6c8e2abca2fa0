"""Container log files in the CRI format, and reading them back as the kubelet serves them.

Each record is ``<RFC3339Nano> <stdout|stderr> <F|P> <content>\\n``: ``F`` ends a line of the
container's output, ``P`` is part of a longer line (or the unterminated tail at exit).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import io
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# containerd splits lines longer than this into partial records.
MAX_RECORD = 16 * 1024
_READ_CHUNK = 64 * 1024


def rfc3339nano(ns: int) -> str:
    """Go's time.RFC3339Nano in UTC: fractional seconds without trailing zeros."""
    seconds, frac = divmod(ns, 1_000_000_000)
    base = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    digits = f"{frac:09d}".rstrip("0")
    return f"{base}.{digits}Z" if digits else f"{base}Z"


def parse_rfc3339(text: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 time (any fraction, Z or offset)."""
    text = text.strip()
    frac_ns = 0
    if "." in text:
        head, _, rest = text.partition(".")
        digits = ""
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        frac_ns = int((digits + "000000000")[:9])
        text = head + rest
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    stamp = datetime.fromisoformat(text)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return int(stamp.timestamp()) * 1_000_000_000 + frac_ns


class LogWriter:
    """Appends one container run's output to its log file, one record per line."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("ab", buffering=0)
        self._partial: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
        self._changed = asyncio.Event()
        self.closed = False

    def write(self, stream: str, data: bytes) -> None:
        pending = self._partial[stream]
        pending += data
        out = io.BytesIO()
        now = rfc3339nano_now().encode()
        start = 0
        while True:
            end = pending.find(b"\n", start)
            if end >= 0 and end - start <= MAX_RECORD:
                out.write(b"%s %s F %s\n" % (now, stream.encode(), pending[start:end]))
                start = end + 1
            elif len(pending) - start > MAX_RECORD:
                chunk = pending[start : start + MAX_RECORD]
                out.write(b"%s %s P %s\n" % (now, stream.encode(), chunk))
                start += MAX_RECORD
            else:
                break
        del pending[:start]
        if out.tell():
            self._file.write(out.getvalue())
            self._notify()

    def close(self) -> None:
        """Writes unterminated output as partial records and marks the run finished."""
        if self.closed:
            return
        now = rfc3339nano_now()
        for stream, pending in self._partial.items():
            if pending:
                self._file.write(f"{now} {stream} P ".encode() + bytes(pending) + b"\n")
                pending.clear()
        self._file.close()
        self.closed = True
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for_change(self, *, within: float) -> None:
        """Returns when something was written or the run ended, or after ``within`` seconds."""
        if self.closed:
            return
        event = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), within)


def rfc3339nano_now() -> str:
    return rfc3339nano(time.time_ns())


@dataclass(frozen=True)
class LogOptions:
    follow: bool = False
    timestamps: bool = False
    since_ns: int | None = None
    tail_lines: int | None = None
    limit_bytes: int | None = None


def render_record(record: bytes, *, timestamps: bool) -> tuple[int, bytes] | None:
    """(timestamp ns, bytes served) of one file record; None for a malformed one."""
    try:
        stamp, _stream, tag, content = record.rstrip(b"\n").split(b" ", 3)
    except ValueError:
        return None
    try:
        ts_ns = parse_rfc3339(stamp.decode())
    except ValueError:
        return None
    if tag == b"F":
        content += b"\n"
    if timestamps:
        content = stamp + b" " + content
    return ts_ns, content


async def read_log(
    path: Path, options: LogOptions, *, live: LogWriter | None = None
) -> AsyncIterator[bytes]:
    """The log as served: filtered, tailed, limited; with ``follow``, until the run ends."""
    start = await asyncio.to_thread(_tail_offset, path, options.tail_lines)
    remaining = options.limit_bytes
    with path.open("rb") as f:
        f.seek(start)
        carry = b""
        while True:
            # Checked before reading: a run that had ended has all its records on disk.
            complete = not options.follow or live is None or live.closed
            chunk = await asyncio.to_thread(f.read, _READ_CHUNK)
            if not chunk:
                if complete:
                    return
                assert live is not None
                await live.wait_for_change(within=1.0)
                continue
            carry += chunk
            *records, carry = carry.split(b"\n")
            out = bytearray()
            for record in records:
                rendered = render_record(record, timestamps=options.timestamps)
                if rendered is None:
                    continue
                ts_ns, content = rendered
                if options.since_ns is not None and ts_ns < options.since_ns:
                    continue
                out += content
            if not out:
                continue
            if remaining is not None:
                out = out[:remaining]
                remaining -= len(out)
            yield bytes(out)
            if remaining is not None and remaining <= 0:
                return


def render_text(records: bytes, options: LogOptions) -> bytes:
    """The same serving rules for records held in memory (logs of pods kubesim does not run)."""
    lines = records.splitlines()
    if options.tail_lines is not None and options.tail_lines >= 0:
        lines = lines[-options.tail_lines :] if options.tail_lines else []
    out = bytearray()
    for record in lines:
        rendered = render_record(record, timestamps=options.timestamps)
        if rendered is None:
            continue
        ts_ns, content = rendered
        if options.since_ns is None or ts_ns >= options.since_ns:
            out += content
    if options.limit_bytes is not None:
        del out[options.limit_bytes :]
    return bytes(out)


def annotation_records(text: str) -> bytes:
    """``<RFC3339Nano> <text>`` lines (seed pods' log annotations) as CRI records."""
    records = bytearray()
    for line in text.splitlines():
        stamp, _, content = line.partition(" ")
        records += f"{stamp} stdout F {content}\n".encode()
    return bytes(records)


def _tail_offset(path: Path, tail_lines: int | None) -> int:
    """Offset of the first of the last ``tail_lines`` records (0 when not tailing)."""
    if tail_lines is None or tail_lines < 0:
        return 0
    if tail_lines == 0:
        return path.stat().st_size
    starts: collections.deque[int] = collections.deque(maxlen=tail_lines)
    offset = 0
    with path.open("rb") as f:
        for line in f:
            starts.append(offset)
            offset += len(line)
    return starts[0] if starts else 0
