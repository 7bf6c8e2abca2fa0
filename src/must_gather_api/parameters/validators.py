"""Validators for the scalar parameters of ``POST /must-gather``.

Each takes the raw value and returns it normalised, or raises ValueError whose message says
what was wrong and what is accepted. Messages never start with the field name: the caller
prefixes it (``timeout: ...``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal

from must_gather_api.durations import format_duration, parse_duration
from must_gather_api.parameters.syntax import (
    DNS_LABEL_MAX,
    check_dns_label,
    check_dns_subdomain,
    check_plain_text,
    show,
)

__all__ = [
    "CORES_CHOICES",
    "cores_mode",
    "custom_name",
    "format_node_selector",
    "node_name",
    "node_selector",
    "since",
    "since_time",
    "source_dir",
    "timeout",
    "volume_percentage",
]

_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(Z|([+-])([0-9]{2}):([0-9]{2}))"
)
_LABEL_NAME = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?")
_CUSTOM_NAME_MAX = 253
_TIMEOUT_TEXT_MAX = 64
_MICROSECOND = timedelta(microseconds=1)
_PATH_MAX = 4096
_NAME_MAX_BYTES = 255


def timeout(value: str, *, max_timeout: timedelta) -> timedelta:
    """A Go duration (``15m``, ``1h30m``) or bare seconds (``900``, ``90.5``), in (0, max].

    Bare seconds are rounded to the microsecond, like the fractions of a Go duration.
    """
    maximum = format_duration(max_timeout)
    if len(value) > _TIMEOUT_TEXT_MAX:
        raise ValueError(f"{show(value)} is too long for a timeout; use e.g. 20m or 1h30m")
    if _SECONDS.fullmatch(value):
        micros = (Decimal(value) * 1_000_000).to_integral_value(ROUND_HALF_EVEN)
        if micros > max_timeout // _MICROSECOND:
            raise ValueError(f"{show(value)} seconds is longer than the maximum, {maximum}")
        result = timedelta(microseconds=int(micros))
    else:
        try:
            result = parse_duration(value)
        except ValueError as e:
            raise ValueError(f"{e}, or a number of seconds; the maximum is {maximum}") from e
    if result <= timedelta(0):
        raise ValueError(
            f"{show(value)} is too short; give a timeout of at least 1µs and up to {maximum}"
        )
    if result > max_timeout:
        raise ValueError(f"{show(value)} is longer than the maximum, {maximum}")
    return result


def since(value: str) -> timedelta:
    """A positive Go duration (``2h``, ``90m``): gather only what is newer than this."""
    result = parse_duration(value)
    if result <= timedelta(0):
        raise ValueError(f"{show(value)} is too short; give at least 1µs, e.g. 2h or 30m")
    return result


def since_time(value: str) -> datetime:
    """An RFC 3339 time with ``Z`` or an offset (``2024-05-01T12:00:00Z``), as Go's RFC3339.

    The result is timezone-aware, in the offset given. Fractions beyond microseconds are
    truncated, as a datetime holds no more.
    """
    form = "use RFC 3339 with a zone, e.g. 2024-05-01T12:00:00Z or 2024-05-01T14:00:00+02:00"
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise ValueError(f"{show(value)} is not an RFC 3339 time; {form}")
    year, month, day, hour, minute, second = (int(part) for part in match.group(1, 2, 3, 4, 5, 6))
    micros = int((match.group(7) or "0").ljust(6, "0")[:6])
    zone = UTC
    if match.group(8) != "Z":
        offset_hours, offset_minutes = int(match.group(10)), int(match.group(11))
        if offset_hours > 23 or offset_minutes > 59:
            raise ValueError(f"{show(value)} has an impossible zone offset; {form}")
        offset = timedelta(hours=offset_hours, minutes=offset_minutes)
        zone = timezone(-offset if match.group(9) == "-" else offset)
    try:
        return datetime(year, month, day, hour, minute, second, micros, tzinfo=zone)
    except ValueError as e:
        raise ValueError(f"{show(value)} is not a real date and time ({e}); {form}") from e


def volume_percentage(value: int) -> int:
    """A whole percentage from 1 to 100."""
    if isinstance(value, bool) or not 1 <= value <= 100:
        raise ValueError(f"{value!r} is not a percentage from 1 to 100")
    return value


CORES_CHOICES = ("none", "metadata", "all")


def cores_mode(value: str) -> str:
    """What a gathering adds of the nodes' core dumps: ``none``, ``metadata`` or ``all``."""
    if value not in CORES_CHOICES:
        raise ValueError(f"{show(value)} is not none, metadata or all")
    return value


def custom_name(value: str) -> str:
    """1 to 253 printable characters without ``/`` (``plan:my-plan:<uid>`` is fine)."""
    if value == "":
        raise ValueError("must not be empty; give 1 to 253 printable characters, no '/'")
    if len(value) > _CUSTOM_NAME_MAX:
        raise ValueError(
            f"{show(value)} is {len(value)} characters long; at most {_CUSTOM_NAME_MAX} are allowed"
        )
    for char in value:
        if not char.isprintable():
            raise ValueError(
                f"{show(value)} contains the non-printable character {show(char)}; "
                "use printable characters only"
            )
    if "/" in value:
        raise ValueError(f"{show(value)} contains '/'; a custom name cannot (it names files)")
    return value


def source_dir(value: str) -> str:
    """An absolute POSIX directory, normalised: no ``//``, ``.`` or trailing ``/`` left."""
    if value == "":
        raise ValueError("must not be empty; give an absolute directory such as /must-gather")
    if len(value) > _PATH_MAX:
        raise ValueError(f"{show(value)} is {len(value)} characters long; at most {_PATH_MAX}")
    for char in value:
        if not char.isprintable():
            raise ValueError(
                f"{show(value)} contains the non-printable character {show(char)}; "
                "a directory here has printable characters only"
            )
    if value != value.strip():
        raise ValueError(f"{show(value)} starts or ends with whitespace; remove it")
    if not value.startswith("/"):
        raise ValueError(f"{show(value)} is not absolute; start it with '/', e.g. /must-gather")
    parts = [part for part in value.split("/") if part not in ("", ".")]
    for part in parts:
        if part == "..":
            raise ValueError(f"{show(value)} contains '..'; give the directory without it")
        if len(part.encode("utf-8", "surrogatepass")) > _NAME_MAX_BYTES:
            raise ValueError(
                f"{show(value)} has a component longer than {_NAME_MAX_BYTES} bytes, "
                "which no file system allows"
            )
    return "/" + "/".join(parts)


def node_name(value: str) -> str:
    """A Kubernetes node name: a DNS-1123 subdomain (lowercase, digits, ``-``, ``.``; ≤ 253)."""
    check_plain_text(value, what="a node name")
    check_dns_subdomain(value, what="node name")
    return value


def namespace(value: str) -> str:
    """A Kubernetes namespace name: a DNS-1123 label."""
    check_dns_label(value, what="namespace")
    return value


def node_selector(value: str) -> dict[str, str]:
    """``key=value[,key=value...]`` (``==`` also works) to a label map.

    Keys are Kubernetes label keys (``[prefix/]name``); values are label values, possibly
    empty. Spaces around keys, values and commas are ignored; a key may appear once.
    """
    form = "use key=value[,key=value], e.g. node-role.kubernetes.io/worker="
    if value.strip(" ") == "":
        raise ValueError(f"must not be empty; {form}")
    labels: dict[str, str] = {}
    for item in value.split(","):
        key, equals, label = item.partition("=")
        if not equals:
            raise ValueError(f"{show(item)} in {show(value)} has no '='; {form}")
        if label.startswith("="):
            label = label[1:]
        key, label = key.strip(" "), label.strip(" ")
        _check_label_key(key, value)
        _check_label_value(label, key, value)
        if key in labels:
            raise ValueError(f"{show(value)} gives the label {show(key)} more than once")
        labels[key] = label
    return labels


def format_node_selector(labels: dict[str, str]) -> str:
    """A label map as a selector string (``a=b,c=d``), the form a ``labelSelector`` takes."""
    return ",".join(f"{key}={label}" for key, label in labels.items())


def _check_label_key(key: str, selector: str) -> None:
    if key.endswith("!"):
        raise ValueError(
            f"{show(selector)} uses '!='; only equality (key=value) selects nodes here"
        )
    prefix, slash, name = key.rpartition("/")
    if slash:
        try:
            check_plain_text(prefix, what="a label key prefix")
            check_dns_subdomain(prefix, what="label key prefix")
        except ValueError as e:
            raise ValueError(f"{e} (in {show(selector)})") from e
    if len(name) > DNS_LABEL_MAX or not _LABEL_NAME.fullmatch(name):
        raise ValueError(
            f"{show(key)} in {show(selector)} is not a valid label key; a key is [prefix/]name, "
            "the name 1 to 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric"
        )


def _check_label_value(label: str, key: str, selector: str) -> None:
    if label and (len(label) > DNS_LABEL_MAX or not _LABEL_NAME.fullmatch(label)):
        raise ValueError(
            f"the value {show(label)} of {show(key)} in {show(selector)} is not a valid label "
            "value; use at most 63 letters, digits, '-', '_' or '.', starting and ending "
            "alphanumeric (or nothing)"
        )
