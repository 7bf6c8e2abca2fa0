"""MUST_GATHER_SINCE (a Go duration) and MUST_GATHER_SINCE_TIME (RFC3339), as images read them."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


class BadSince(ValueError):
    pass


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration string such as ``2h0m0s``, ``1m30s`` or ``1.5h``."""
    s = text.strip()
    sign = 1.0
    if s and s[0] in "+-":
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise BadSince(f"invalid duration {text!r}")
    total, pos = 0.0, 0
    while pos < len(s):
        match = _PART.match(s, pos)
        if match is None:
            raise BadSince(f"invalid duration {text!r}")
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    return sign * total


def parse_rfc3339(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as e:
        raise BadSince(f"invalid RFC3339 time {text!r}") from e
    if parsed.tzinfo is None:
        raise BadSince(f"RFC3339 time {text!r} has no offset")
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class Since:
    """The lower time bound a gathering keeps logs and events from (None: everything)."""

    cutoff: datetime | None
    seconds: int | None = None
    time_text: str | None = None

    @classmethod
    def from_environment(cls, *, now: datetime | None = None) -> Since:
        now = now or datetime.now(UTC)
        since_time = os.environ.get("MUST_GATHER_SINCE_TIME", "").strip()
        since = os.environ.get("MUST_GATHER_SINCE", "").strip()
        # The default image lets the time win when both are set.
        if since_time:
            return cls(cutoff=parse_rfc3339(since_time), time_text=since_time)
        if since:
            seconds = parse_go_duration(since)
            if seconds <= 0:
                raise BadSince(f"MUST_GATHER_SINCE must be positive, not {since!r}")
            whole = max(1, math.ceil(seconds))
            return cls(cutoff=now - timedelta(seconds=seconds), seconds=whole)
        return cls(cutoff=None)

    def log_query(self) -> dict[str, str | int | None]:
        return {"sinceSeconds": self.seconds, "sinceTime": self.time_text}

    def keeps_event(self, event: dict[str, Any]) -> bool:
        if self.cutoff is None:
            return True
        stamp = event_time(event)
        return stamp is None or stamp >= self.cutoff

    def describe(self) -> str:
        if self.time_text:
            return f"since {self.time_text}"
        if self.seconds:
            return f"since {self.seconds}s ago"
        return "everything"


def event_time(event: dict[str, Any]) -> datetime | None:
    """When an event last happened, by the fields clients fill in (newest source first)."""
    series = event.get("series") or {}
    for value in (
        series.get("lastObservedTime"),
        event.get("lastTimestamp"),
        event.get("eventTime"),
        event.get("firstTimestamp"),
        (event.get("metadata") or {}).get("creationTimestamp"),
    ):
        if isinstance(value, str) and value:
            try:
                return parse_rfc3339(value)
            except BadSince:
                continue
    return None
