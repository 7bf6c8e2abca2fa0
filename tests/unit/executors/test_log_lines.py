"""Splitting a followed log into whole, bounded lines."""

from __future__ import annotations

import pytest

from must_gather_api.executors.kubernetes.log_lines import CLIPPED, Lines

pytestmark = pytest.mark.timeout(5)


def test_lines_split_across_pieces_come_whole_and_in_order() -> None:
    lines = Lines()
    assert lines.feed(b"one\ntw") == [b"one"]
    assert lines.feed(b"o") == []
    assert lines.feed(b"\n\nthree\nfour") == [b"two", b"", b"three"]
    assert lines.rest() == b"four"
    assert lines.rest() == b""


def test_a_line_longer_than_the_limit_is_given_once_clipped() -> None:
    lines = Lines(limit=8)
    # over the limit before its newline came: given at once, the rest dropped
    assert lines.feed(b"0123456789") == [b"01234567" + CLIPPED]
    assert lines.feed(b"abcdef") == []
    assert lines.feed(b"ghi\nnext\n") == [b"next"]
    # over the limit within one piece, newline included
    assert lines.feed(b"0123456789ab\nshort\n") == [b"01234567" + CLIPPED, b"short"]
    # exactly the limit is kept whole
    assert lines.feed(b"01234567\n") == [b"01234567"]


def test_what_is_held_stays_bounded() -> None:
    lines = Lines(limit=1024)
    for _ in range(1000):
        lines.feed(b"x" * 4096)
    assert lines.rest() == b"", "the long line was given clipped; its rest is dropped"
    assert lines.feed(b"its end\nnext\nlast") == [b"next"]
    assert lines.rest() == b"last"
