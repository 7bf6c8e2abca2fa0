"""A gathering's output reaches a terminal without any control sequence."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from must_gather_api.client.rendering import Screen
from must_gather_api.client.terminal import printable

HOSTILE = [
    ("\x1b[2J\x1b[Hcleared", "cleared"),
    ("a\x1b]0;new title\x07b", "ab"),
    ("copy\x1b]52;c;ZXZpbA==\x1b\\done", "copydone"),
    ("\x1bcreset", "reset"),
    ("\x1b[8mhidden\x1b[0m", "hidden"),
    ("over\rwrite", "overwrite"),
    ("bell\x07\x08back", "bellback"),
    ("\x9b2Jeight-bit", "eight-bit"),
    ("\x9d0;title\x9cafter", "after"),
    ("tab\tkept", "tab\tkept"),
    ("unicode ✓ kept", "unicode ✓ kept"),
    ("dangling\x1b[", "dangling"),
    ("dangling osc\x1b]0;never ended", "dangling osc"),
]


@pytest.mark.parametrize(("raw", "shown"), HOSTILE)
def test_escape_sequences_and_controls_are_removed(raw: str, shown: str) -> None:
    assert printable(raw) == shown


@given(st.text())
def test_nothing_below_space_but_tab_survives(text: str) -> None:
    result = printable(text)
    assert all(ch == "\t" or not (ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F) for ch in result)


def test_the_screen_prints_output_lines_without_them() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system=None, width=200)
    screen = Screen(console=console, json=False)
    for raw, _ in HOSTILE:
        screen.line(raw)
    written = buffer.getvalue()
    assert "\x1b" not in written and "\x9b" not in written and "\x07" not in written
    assert written.count("\n") == len(HOSTILE)
