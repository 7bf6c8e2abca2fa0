"""The gather container's last error line, as error-reason carries it."""

from __future__ import annotations

from must_gather_api.executors.kubernetes.last_lines import LIMIT, LastLines, clean


def test_the_timestamp_escapes_and_control_characters_go() -> None:
    line = "2026-12-04T12:00:00.123456789Z \x1b[31mERROR:\x1b[0m bad\x07 thing\r\x00"
    assert clean(line) == "ERROR: bad thing"


def test_a_long_line_is_bounded() -> None:
    text = clean("x" * 5000)
    assert len(text) == LIMIT and text.endswith("…")


def test_the_last_error_line_wins_over_later_lines() -> None:
    lines = LastLines()
    for line in ("starting", "ERROR: first", "error: second one", "cleaning up", "   "):
        lines.add("pod-a", line)
    lines.add("pod-b", "all went fine")
    assert lines.reason("pod-a") == "its last error line: error: second one"
    assert lines.reason("pod-b") == "its last line: all went fine"
    assert lines.reason("pod-c") == ""


def test_words_inside_others_are_not_errors() -> None:
    lines = LastLines()
    lines.add("p", "terrorism of the mirrors")  # no word "error"
    assert lines.reason("p") == "its last line: terrorism of the mirrors"
