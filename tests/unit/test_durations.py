"""Go-style durations: parse_duration is time.ParseDuration, format_duration Duration.String."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from must_gather_api.durations import format_duration, parse_duration

PROPERTY = settings(max_examples=200, deadline=None)
NS_PER_UNIT = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9}
NS_PER_UNIT |= {"m": 60 * 10**9, "h": 3600 * 10**9}
GO_MAX_NS = 2**63 - 1
# The largest duration in whole microseconds that Go can hold, either side of zero.
GO_MAX_MICROS = timedelta(microseconds=GO_MAX_NS // 1000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", timedelta(0)),
        ("+0", timedelta(0)),
        ("-0", timedelta(0)),
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        ("-2m3.4s", -timedelta(minutes=2, seconds=3.4)),
        ("+7s", timedelta(seconds=7)),
        ("3.s", timedelta(seconds=3)),
        (".25s", timedelta(milliseconds=250)),
        ("2.000s", timedelta(seconds=2)),
        ("300ms", timedelta(milliseconds=300)),
        ("42us", timedelta(microseconds=42)),
        ("42\u00b5s", timedelta(microseconds=42)),
        ("42\u03bcs", timedelta(microseconds=42)),
        ("7000ns", timedelta(microseconds=7)),
        ("20s1m", timedelta(seconds=80)),
        ("1h2m3s4ms5us", timedelta(hours=1, minutes=2, seconds=3, milliseconds=4, microseconds=5)),
        # Go multiplies the fraction in float64, which lands exactly on 20 minutes here.
        ("0.3333333333333333333h", timedelta(minutes=20)),
        # Fraction digits beyond int64 precision are ignored, not an error.
        ("1.00000000000000000000000000001s", timedelta(seconds=1)),
        ("9223372036854775807ns", timedelta(microseconds=9223372036854776)),
        ("-9223372036854775808ns", -timedelta(microseconds=9223372036854776)),
        ("2562047h47m16s", timedelta(hours=2562047, minutes=47, seconds=16)),
    ],
)
def test_parse_duration_accepts_go_syntax(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("nanoseconds", "micros"),
    [(1, 0), (499, 0), (500, 0), (501, 1), (1500, 2), (2500, 2), (-1500, -2), (-501, -1)],
)
def test_parse_duration_rounds_nanoseconds_to_the_nearest_microsecond(
    nanoseconds: int, micros: int
) -> None:
    assert parse_duration(f"{nanoseconds}ns") == timedelta(microseconds=micros)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "it is empty"),
        ("-", "a number must follow the sign"),
        ("+", "a number must follow the sign"),
        ("15", "every number needs a unit"),
        ("00", "every number needs a unit"),
        ("1h30", "every number needs a unit"),
        ("15x", 'unknown unit "x"'),
        ("1d", 'unknown unit "d"'),
        ("1H", 'unknown unit "H"'),
        ("1 h", "spaces are not allowed"),
        (" 1h", "spaces are not allowed"),
        ("1h\n", "spaces are not allowed"),
        (".", "a lone '.' is not a number"),
        ("-.s", "a lone '.' is not a number"),
        ("s", 'expected a number at "s"'),
        ("--1s", 'expected a number at "-1s"'),
        ("1e3s", 'unknown unit "e"'),
        ("\u0661s", 'expected a number at "\u0661s"'),
        ("9223372036854775808ns", "longer than Go durations can hold"),
        ("-9223372036854775809ns", "a number in it is too large"),
        ("2562048h", "longer than Go durations can hold"),
        ("9223372036854775.808us", "longer than Go durations can hold"),
        ("99999999999999999999s", "a number in it is too large"),
    ],
)
def test_parse_duration_rejects_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match="is not a duration") as caught:
        parse_duration(text)
    message = str(caught.value)
    assert reason in message
    assert "use Go-style durations such as 90s, 15m or 1h30m" in message


def test_parse_duration_escapes_and_clips_the_input_it_quotes() -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration("1\x1b[31m" + "z" * 500)
    message = str(caught.value)
    assert message.startswith('"1\\x1b[31mzzz')
    assert "(506 characters)" in message
    assert "\x1b" not in message
    assert message.count("z") < 250


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(microseconds=1), "1µs"),
        (timedelta(microseconds=1500), "1.5ms"),
        (timedelta(milliseconds=500), "500ms"),
        (timedelta(seconds=1.5), "1.5s"),
        (timedelta(seconds=59), "59s"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(minutes=15), "15m0s"),
        (timedelta(hours=1), "1h0m0s"),
        (timedelta(hours=1, minutes=30), "1h30m0s"),
        (timedelta(days=2, seconds=1, microseconds=10), "48h0m1.00001s"),
        (-timedelta(seconds=90), "-1m30s"),
        (-timedelta(microseconds=250), "-250µs"),
    ],
)
def test_format_duration_matches_go(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@PROPERTY
@given(st.timedeltas(min_value=-GO_MAX_MICROS, max_value=GO_MAX_MICROS))
def test_format_then_parse_round_trips(value: timedelta) -> None:
    assert parse_duration(format_duration(value)) == value


@st.composite
def go_durations(draw: st.DrawFn) -> tuple[str, int]:
    """A valid duration string with whole numbers, and its value in nanoseconds."""
    units = draw(st.lists(st.sampled_from(sorted(NS_PER_UNIT)), min_size=1, max_size=5))
    # Each part at most a fifth of what Go can hold, so that the sum always fits.
    ceiling = (2**63 - 1) // 5
    parts = [
        (draw(st.integers(0, min(10**6, ceiling // NS_PER_UNIT[unit]))), unit) for unit in units
    ]
    sign = draw(st.sampled_from(["", "+", "-"]))
    nanos = sum(number * NS_PER_UNIT[unit] for number, unit in parts)
    text = sign + "".join(f"{number}{unit}" for number, unit in parts)
    return text, -nanos if sign == "-" else nanos


@PROPERTY
@given(go_durations())
def test_generated_durations_parse_to_their_value(case: tuple[str, int]) -> None:
    text, nanos = case
    parsed = parse_duration(text)
    assert abs(parsed - timedelta(microseconds=nanos / 1000)) <= timedelta(microseconds=1)
    # Parsing is idempotent through the Go format.
    assert parse_duration(format_duration(parsed)) == parsed


@PROPERTY
@given(st.text(max_size=40))
def test_any_text_is_parsed_or_rejected_with_value_error(text: str) -> None:
    try:
        parse_duration(text)
    except ValueError as e:
        assert str(e).isprintable()
        assert len(str(e)) < 1500


@PROPERTY
@given(go_durations(), st.sampled_from([" ", "\t", "\n", "\r", "\x00", "\u00a0"]), st.data())
def test_whitespace_or_controls_anywhere_are_rejected(
    case: tuple[str, int], junk: str, data: st.DataObject
) -> None:
    text, _ = case
    position = data.draw(st.integers(0, len(text)))
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text[:position] + junk + text[position:])
