"""The kinds of value settings take, as they are written in environment variables.

Durations in Go's notation (a bare number meaning seconds, or hours for
CLEANUP_MAX_AGE as the console offered it), flags as the old service read DEBUG, and
sizes with Kubernetes-style suffixes.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator

from must_gather_api import durations

_FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})
_QUANTITY = re.compile(r"^(?P<number>\d+)(?P<unit>[KMGTP]i?)?$")
_QUANTITY_UNITS = {
    None: 1,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
}


def _flag(value: object) -> bool:
    """The old service treated any non-empty DEBUG as on; `false`, `0`, `no` read as off."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in _FALSE_WORDS


def duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return timedelta(seconds=float(text))
    return durations.parse_duration(text)


def _cleanup_age(value: object) -> timedelta | None:
    """Go duration; `-1` or empty disables; a bare number means hours (the console's unit)."""
    if value is None or isinstance(value, timedelta):
        return value
    text = str(value).strip()
    if text in {"", "-1"}:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", text):
        age = timedelta(hours=float(text))
    else:
        age = durations.parse_duration(text)
    if age <= timedelta(0):
        raise ValueError("must be a positive duration such as 24h, a number of hours, or -1")
    return age


def _byte_quantity(value: object) -> int | None:
    """Bytes, optionally with a Kubernetes-style suffix (500Mi, 10Gi, 2G); 0 or empty: no limit."""
    if value is None or isinstance(value, int):
        return value or None
    text = str(value).strip()
    if text in {"", "0", "-1"}:
        return None
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size; use bytes or a suffix such as 500Mi or 10Gi")
    return int(match["number"]) * _QUANTITY_UNITS[match["unit"]]


Flag = Annotated[bool, BeforeValidator(_flag)]
Duration = Annotated[timedelta, BeforeValidator(duration)]
CleanupAge = Annotated[timedelta | None, BeforeValidator(_cleanup_age)]
ByteQuantity = Annotated[int | None, BeforeValidator(_byte_quantity)]


def compact_duration(value: timedelta) -> str:
    """`20m`, `1h30m`, `90s`: how people write durations, and how the old service echoed them."""
    total = value.total_seconds()
    if total != int(total):
        return durations.format_duration(value)
    hours, rest = divmod(int(total), 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (seconds, "s")) if n]
    return "".join(parts) or "0s"
