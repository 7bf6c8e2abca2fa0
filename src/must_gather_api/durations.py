"""Go-style durations (``90s``, ``15m``, ``1h30m``) as :class:`datetime.timedelta`.

oc and the old service take durations in Go's ``time.ParseDuration`` syntax, and oc hands
``--since`` to the gather image formatted by Go's ``Duration.String()``. Matching both exactly
keeps a value the caller sent meaning the same thing all the way down to the pod.

This module sits in the lowest layer of the service, so it imports nothing from it.
"""

from __future__ import annotations

from datetime import timedelta

__all__ = ["format_duration", "parse_duration"]

# Go keeps durations in int64 nanoseconds; these are its bounds.
_MAX_MAGNITUDE = 1 << 63
_NANOS_PER_MICRO = 1_000

# Nanoseconds per unit. Go accepts both the micro sign (U+00B5) and the Greek mu (U+03BC).
_UNITS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_DIGITS = "0123456789"
_HINT = "use Go-style durations such as 90s, 15m or 1h30m (units ns, us, ms, s, m, h)"
_SHOWN_CHARACTERS = 100


def parse_duration(text: str) -> timedelta:
    """Parse ``text`` exactly as Go's ``time.ParseDuration`` would.

    The grammar is an optional sign followed by one or more ``<decimal><unit>`` pairs
    (``1h30m``, ``1.5h``, ``-90s``, ``300ms``), or ``0`` alone. Spaces are not allowed.
    Values beyond Go's range (about 292 years) are rejected, as Go rejects them.

    A timedelta holds microseconds, so nanosecond parts are rounded to the nearest
    microsecond (ties to even): ``1500ns`` becomes 2 µs and ``1ns`` becomes zero. (Within a
    microsecond of Go's limits that rounding can step past them; such a result formats to a
    text this function then refuses.)

    Raises ValueError with a message that quotes (a bounded, escaped part of) ``text``,
    says what was wrong and shows the accepted form.
    """
    try:
        nanos = _parse_nanoseconds(text)
    except _Rejected as e:
        raise ValueError(f"{_show(text)} is not a duration ({e.reason}); {_HINT}") from None
    micros, rest = divmod(nanos, _NANOS_PER_MICRO)
    if rest > _NANOS_PER_MICRO // 2 or (rest == _NANOS_PER_MICRO // 2 and micros % 2):
        micros += 1
    return timedelta(microseconds=micros)


def format_duration(value: timedelta) -> str:
    """Format ``value`` as Go's ``Duration.String()``: ``1h30m0s``, ``1.5s``, ``500ms``, ``0s``.

    Values outside Go's range are formatted the same way (Go could not hold them, so
    :func:`parse_duration` would refuse the result).
    """
    nanos = (value.days * 86_400 + value.seconds) * 1_000_000_000 + value.microseconds * 1_000
    sign = "-" if nanos < 0 else ""
    nanos = abs(nanos)
    if nanos == 0:
        return "0s"
    if nanos < 1_000:
        return f"{sign}{nanos}ns"
    if nanos < 1_000_000:
        return f"{sign}{_decimal(nanos, 3)}\u00b5s"
    if nanos < 1_000_000_000:
        return f"{sign}{_decimal(nanos, 6)}ms"
    total_seconds, fraction = divmod(nanos, 1_000_000_000)
    seconds_text = _decimal(total_seconds % 60 * 1_000_000_000 + fraction, 9) + "s"
    minutes = total_seconds // 60
    if minutes == 0:
        return sign + seconds_text
    hours, minutes = divmod(minutes, 60)
    if hours == 0:
        return f"{sign}{minutes}m{seconds_text}"
    return f"{sign}{hours}h{minutes}m{seconds_text}"


def _decimal(value: int, places: int) -> str:
    """``value / 10**places`` written without trailing zeros (nor a bare trailing point)."""
    whole, fraction = divmod(value, 10**places)
    if fraction == 0:
        return str(whole)
    return f"{whole}.{fraction:0{places}d}".rstrip("0")


class _Rejected(Exception):
    """Internal: why the text is not a Go duration; turned into a ValueError by the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _parse_nanoseconds(text: str) -> int:
    """Go's ParseDuration, step for step, including its overflow checks and float fractions."""
    rest = text
    negative = False
    if rest[:1] in ("-", "+"):
        negative = rest[0] == "-"
        rest = rest[1:]
    if rest == "0":
        return 0
    if rest == "":
        raise _Rejected("it is empty" if text == "" else "a number must follow the sign")
    if any(char.isspace() for char in text):
        raise _Rejected("spaces are not allowed")
    total = 0
    while rest:
        if rest[0] != "." and rest[0] not in _DIGITS:
            raise _Rejected(f"expected a number at {_show(rest)}")
        whole, rest, has_whole = _leading_int(rest)
        fraction, scale, has_fraction = 0, 1.0, False
        if rest[:1] == ".":
            fraction, scale, rest, has_fraction = _leading_fraction(rest[1:])
        if not has_whole and not has_fraction:
            raise _Rejected("a lone '.' is not a number")
        end = 0
        while end < len(rest) and rest[end] != "." and rest[end] not in _DIGITS:
            end += 1
        if end == 0:
            raise _Rejected("every number needs a unit")
        unit_text, rest = rest[:end], rest[end:]
        unit = _UNITS.get(unit_text)
        if unit is None:
            raise _Rejected(f"unknown unit {_show(unit_text)}")
        if whole > _MAX_MAGNITUDE // unit:
            raise _Rejected("it is longer than Go durations can hold (about 292 years)")
        value = whole * unit
        if fraction > 0:
            # Go computes the fractional part in float64 and truncates; do the same so
            # that a value means to the nanosecond what it means to oc.
            value += int(float(fraction) * (float(unit) / scale))
            if value > _MAX_MAGNITUDE:
                raise _Rejected("it is longer than Go durations can hold (about 292 years)")
        total += value
        if total > _MAX_MAGNITUDE:
            raise _Rejected("it is longer than Go durations can hold (about 292 years)")
    if negative:
        return -total
    if total > _MAX_MAGNITUDE - 1:
        raise _Rejected("it is longer than Go durations can hold (about 292 years)")
    return total


def _leading_int(text: str) -> tuple[int, str, bool]:
    value = 0
    index = 0
    while index < len(text) and text[index] in _DIGITS:
        if value > _MAX_MAGNITUDE // 10:
            raise _Rejected("a number in it is too large")
        value = value * 10 + ord(text[index]) - ord("0")
        if value > _MAX_MAGNITUDE:
            raise _Rejected("a number in it is too large")
        index += 1
    return value, text[index:], index > 0


def _leading_fraction(text: str) -> tuple[int, float, str, bool]:
    # Digits past int64 precision are consumed but ignored, as Go does.
    value = 0
    scale = 1.0
    overflow = False
    index = 0
    while index < len(text) and text[index] in _DIGITS:
        if not overflow:
            candidate = value * 10 + ord(text[index]) - ord("0")
            if value > (_MAX_MAGNITUDE - 1) // 10 or candidate > _MAX_MAGNITUDE:
                overflow = True
            else:
                value = candidate
                scale *= 10
        index += 1
    return value, scale, text[index:], index > 0


def _show(text: str) -> str:
    """``text`` double-quoted for a message: escaped like repr, clipped to 100 characters.

    parameters.quoting.show does the same for the validators; this layer may not import it.
    """
    body = "".join(
        "\\" + char if char in '"\\' else char if char.isprintable() else repr(char)[1:-1]
        for char in text[:_SHOWN_CHARACTERS]
    )
    if len(text) > _SHOWN_CHARACTERS:
        return f'"{body}"… ({len(text)} characters)'
    return f'"{body}"'
