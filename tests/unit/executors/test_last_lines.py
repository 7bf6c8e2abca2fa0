"""The gather container's last error line, as error-reason carries it."""

from __future__ import annotations

from pathlib import Path

from must_gather_api.executors.kubernetes.console import Console
from must_gather_api.executors.kubernetes.last_lines import LIMIT, LastLines, clean
from support.native import Lines


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


def test_the_console_keeps_each_pods_lines_apart(tmp_path: Path) -> None:
    output = Lines()
    console = Console(output, tmp_path)
    console.open()
    try:
        console.pod_line("must-gather-a", "2026-12-04T12:00:00Z gathering nodes")
        console.pod_line("must-gather-b", "2026-12-04T12:00:01Z ERROR: no plan named nope")
        console.pod_line("must-gather-a", "2026-12-04T12:00:02Z done")
        console.out("a status line is not the pod's")
    finally:
        console.close()
    assert console.last_lines.reason("must-gather-a") == "its last line: done"
    assert console.last_lines.reason("must-gather-b") == (
        "its last error line: ERROR: no plan named nope"
    )
    # The lines reach the output as they were, timestamps included.
    assert "[must-gather-b] POD 2026-12-04T12:00:01Z ERROR: no plan named nope" in output.lines
