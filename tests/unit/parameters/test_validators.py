"""Validators of the scalar parameters: durations, times, custom names, directories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from must_gather_api.durations import format_duration
from must_gather_api.parameters import (
    custom_name,
    since,
    since_time,
    source_dir,
    timeout,
    volume_percentage,
)

PROPERTY = settings(max_examples=200, deadline=None)
MAX = timedelta(hours=2)
CONTROLS = st.sampled_from(["\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\x85", "\u2028", "\u202e"])


def rejected(validator: object, value: object, **options: object) -> str:
    """The message of the ValueError ``validator(value)`` raises; checks it is safe to log."""
    assert callable(validator)
    with pytest.raises(ValueError) as caught:
        validator(value, **options)
    message = str(caught.value)
    assert message.isprintable(), message
    assert len(message) < 1500
    return message


def insert(text: str, junk: str, data: st.DataObject) -> str:
    position = data.draw(st.integers(0, len(text)))
    return text[:position] + junk + text[position:]


# timeout ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("900", timedelta(minutes=15)),
        ("90.5", timedelta(seconds=90.5)),
        ("1.0000004", timedelta(seconds=1)),
        ("15m", timedelta(minutes=15)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2h", MAX),
        ("7200", MAX),
    ],
)
def test_timeout_accepts_durations_and_seconds(value: str, expected: timedelta) -> None:
    assert timeout(value, max_timeout=MAX) == expected


@pytest.mark.parametrize(
    ("value", "useful"),
    [
        ("15x", '"15x" is not a duration'),
        ("15x", "or a number of seconds"),
        ("15x", "the maximum is 2h0m0s"),
        ("0", "too short"),
        ("0s", "too short"),
        ("-5m", "too short"),
        ("1ns", "too short"),
        ("2h0m1s", "longer than the maximum, 2h0m0s"),
        ("7201", "longer than the maximum, 2h0m0s"),
        ("1e3", "is not a duration"),
        (" 15m", "spaces are not allowed"),
        ("9" * 200, "too long for a timeout"),
        ("", "it is empty"),
    ],
)
def test_timeout_rejections_say_why(value: str, useful: str) -> None:
    message = rejected(timeout, value, max_timeout=MAX)
    assert useful in message
    assert not message.startswith("timeout")


@PROPERTY
@given(st.timedeltas(min_value=timedelta(microseconds=1), max_value=MAX))
def test_timeout_accepts_go_durations_up_to_the_maximum(value: timedelta) -> None:
    assert timeout(format_duration(value), max_timeout=MAX) == value


@PROPERTY
@given(st.integers(1, 7200))
def test_timeout_reads_bare_numbers_as_seconds(seconds: int) -> None:
    parsed = timeout(str(seconds), max_timeout=MAX)
    assert parsed == timedelta(seconds=seconds)
    assert timeout(format_duration(parsed), max_timeout=MAX) == parsed


@PROPERTY
@given(st.timedeltas(min_value=MAX + timedelta(microseconds=1), max_value=timedelta(days=999)))
def test_timeout_above_the_maximum_is_rejected(value: timedelta) -> None:
    assert "2h0m0s" in rejected(timeout, format_duration(value), max_timeout=MAX)


@PROPERTY
@given(st.text(max_size=30))
def test_timeout_accepts_or_raises_value_error(value: str) -> None:
    try:
        result = timeout(value, max_timeout=MAX)
    except ValueError:
        rejected(timeout, value, max_timeout=MAX)
    else:
        assert timedelta(0) < result <= MAX


# since, since-time, volume-percentage -------------------------------------------------


def test_since_takes_positive_go_durations() -> None:
    assert since("2h") == timedelta(hours=2)
    assert since("90m") == timedelta(minutes=90)
    assert "too short" in rejected(since, "0s")
    assert "too short" in rejected(since, "-1h")
    assert "is not a duration" in rejected(since, "2 days")
    assert "is not a duration" in rejected(since, "7200")


@PROPERTY
@given(st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=3650)))
def test_since_round_trips_through_the_go_format(value: timedelta) -> None:
    assert since(format_duration(value)) == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        (
            "2024-05-01T14:00:00.5+02:00",
            datetime(2024, 5, 1, 14, 0, 0, 500000, tzinfo=timezone(timedelta(hours=2))),
        ),
        (
            "2024-05-01T12:00:00.123456789-05:30",
            datetime(
                2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone(-timedelta(hours=5, minutes=30))
            ),
        ),
    ],
)
def test_since_time_reads_rfc3339(value: str, expected: datetime) -> None:
    parsed = since_time(value)
    assert parsed == expected
    assert parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    ("value", "useful"),
    [
        ("2024-05-01T12:00:00", "is not an RFC 3339 time"),
        ("2024-05-01 12:00:00Z", "is not an RFC 3339 time"),
        ("2024-05-01t12:00:00z", "is not an RFC 3339 time"),
        ("2024-05-01", "e.g. 2024-05-01T12:00:00Z"),
        ("2024-02-30T00:00:00Z", "is not a real date and time"),
        ("2024-05-01T24:00:00Z", "is not a real date and time"),
        ("2024-05-01T12:00:60Z", "is not a real date and time"),
        ("2024-05-01T12:00:00+24:00", "impossible zone offset"),
        ("2024-05-01T12:00:00+01:60", "impossible zone offset"),
        ("0000-01-01T00:00:00Z", "is not a real date and time"),
    ],
)
def test_since_time_rejections_say_why(value: str, useful: str) -> None:
    assert useful in rejected(since_time, value)


OFFSETS = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


@PROPERTY
@given(st.datetimes(timezones=OFFSETS), st.booleans())
def test_since_time_round_trips_isoformat(value: datetime, zulu: bool) -> None:
    text = value.isoformat(timespec="microseconds")
    if zulu:
        value = value.astimezone(UTC)
        text = value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    parsed = since_time(text)
    assert parsed == value
    assert parsed.utcoffset() == value.utcoffset()


def test_volume_percentage_is_one_to_a_hundred() -> None:
    assert volume_percentage(1) == 1
    assert volume_percentage(100) == 100
    assert "from 1 to 100" in rejected(volume_percentage, 0)
    assert "from 1 to 100" in rejected(volume_percentage, 101)
    assert "from 1 to 100" in rejected(volume_percentage, True)


@PROPERTY
@given(st.integers())
def test_volume_percentage_outside_the_range_is_rejected(value: int) -> None:
    if 1 <= value <= 100:
        assert volume_percentage(value) == value
    else:
        rejected(volume_percentage, value)


# custom-name --------------------------------------------------------------------------

PRINTABLE_NAMES = st.text(
    st.characters(codec="utf-8").filter(lambda c: c.isprintable() and c != "/"),
    min_size=1,
    max_size=253,
)


def test_custom_name_takes_the_ui_form() -> None:
    assert custom_name("plan:my-plan:0b1c-22") == "plan:my-plan:0b1c-22"
    assert custom_name("forklift plan ✓") == "forklift plan ✓"


@pytest.mark.parametrize(
    ("value", "useful"),
    [
        ("", "must not be empty"),
        ("a/b", "contains '/'"),
        ("a\r\nSet-Cookie: x", 'non-printable character "\\r"'),
        ("tab\there", 'non-printable character "\\t"'),
        ("x" * 254, "at most 253"),
    ],
)
def test_custom_name_rejections_say_why(value: str, useful: str) -> None:
    assert useful in rejected(custom_name, value)


@PROPERTY
@given(PRINTABLE_NAMES)
def test_printable_names_are_kept_as_they_are(value: str) -> None:
    assert custom_name(value) == value
    assert custom_name(custom_name(value)) == value


@PROPERTY
@given(PRINTABLE_NAMES, st.one_of(CONTROLS, st.just("/")), st.data())
def test_names_with_controls_or_slashes_are_rejected(
    value: str, junk: str, data: st.DataObject
) -> None:
    rejected(custom_name, insert(value[:252], junk, data))


# source-dir ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/must-gather", "/must-gather"),
        ("/must-gather/", "/must-gather"),
        ("//var//lib/./gather/", "/var/lib/gather"),
        ("/", "/"),
        ("//", "/"),
        ("/with space/x", "/with space/x"),
    ],
)
def test_source_dir_is_normalised(value: str, expected: str) -> None:
    assert source_dir(value) == expected


@pytest.mark.parametrize(
    ("value", "useful"),
    [
        ("", "must not be empty"),
        ("must-gather", "is not absolute"),
        ("./must-gather", "is not absolute"),
        ("/a/../etc", "contains '..'"),
        ("/..", "contains '..'"),
        ("/a\x00b", 'non-printable character "\\x00"'),
        ("/a\nb", 'non-printable character "\\n"'),
        (" /a", "whitespace"),
        ("/a ", "whitespace"),
        ("/" + "x" * 256, "longer than 255 bytes"),
        ("/x" * 2049, "at most 4096"),
    ],
)
def test_source_dir_rejections_say_why(value: str, useful: str) -> None:
    assert useful in rejected(source_dir, value)


PATH_PARTS = st.lists(
    st.text(
        st.characters(codec="utf-8").filter(lambda c: c.isprintable() and c != "/"),
        min_size=1,
        max_size=12,
    ).filter(lambda p: p not in (".", "..") and p == p.strip()),
    max_size=6,
)


@PROPERTY
@given(PATH_PARTS, st.data())
def test_generated_directories_normalise_idempotently(
    parts: list[str], data: st.DataObject
) -> None:
    separators = st.sampled_from(["/", "//", "/./", "///./"])
    text = "".join(data.draw(separators) + part for part in parts) + data.draw(
        st.sampled_from(["", "/", "/."])
    )
    assume(text.startswith("/"))
    normal = source_dir(text)
    assert normal == "/" + "/".join(parts)
    assert source_dir(normal) == normal


@PROPERTY
@given(PATH_PARTS, CONTROLS, st.data())
def test_directories_with_controls_or_dotdot_are_rejected(
    parts: list[str], junk: str, data: st.DataObject
) -> None:
    path = "/" + "/".join(parts)
    rejected(source_dir, insert(path, junk, data))
    rejected(source_dir, path + "/../x")
    rejected(source_dir, path.lstrip("/") or "relative")
