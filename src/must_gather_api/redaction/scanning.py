"""Finding address and MAC candidates fast, in Python's ``re``.

A pattern that begins with a character class is tried at every position, which makes the
precise patterns (``obfuscators.IPV4`` ...) crawl at a few MiB/s over log text. Here each
search starts at what an address cannot do without: the separators after its first part
(``.0.0.1``, ``-0-0-1``, ``:0:``, ``:bb:cc:dd:ee:ff``), which are rare in text; the first
part is then read backwards, the boundaries checked by hand, and only what passes is handed
on. ``substitute`` rebuilds the text from the replaced spans.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

_DIGITS = frozenset("0123456789")
_V4_BEFORE = _DIGITS | {"."}
_HEX = frozenset("0123456789abcdefABCDEF")
_V6_CHARS = _HEX | {":"}
_MAC_EDGE = _HEX | {":", "-"}
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

# The three parts after the first: 10[.0.0.1], 10[-0-0-1], 10[_0_0_1].
_V4_REST = re.compile(r"([._-])[0-9]{1,3}\1[0-9]{1,3}\1[0-9]{1,3}")
# Every IPv6 address has "::" or seven colons (so four in a row with hex between); times
# such as 12:30:45 have neither.
_V6_ANCHOR = re.compile(r"::|:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:")
_V6_TAIL = re.compile(r"[0-9A-Fa-f:.]*")
# The five parts after the first: aa[:bb:cc:dd:ee:ff].
_MAC_REST = re.compile(r"([:-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}")

Span = tuple[int, int]


def _matches(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """Every match, overlapping ones too: a rejected candidate must not hide the next."""
    position = 0
    while (match := pattern.search(text, position)) is not None:
        yield match
        position = match.start() + 1


def ipv4_spans(text: str) -> Iterator[Span]:
    """Four groups of 1-3 digits with one kind of separator, not inside a longer number."""
    done = 0
    for match in _matches(_V4_REST, text):
        start = match.start()
        first = start
        while first > 0 and start - first < 3 and text[first - 1] in _DIGITS:
            first -= 1
        end = match.end()
        if first < done or first == start or (first > 0 and text[first - 1] in _V4_BEFORE):
            continue
        if end < len(text) and (
            text[end] in _DIGITS
            or (text[end] == "." and end + 1 < len(text) and text[end + 1] in _DIGITS)
        ):
            continue
        done = end
        yield first, end


def ipv6_spans(text: str) -> Iterator[Span]:
    """Runs of hex digits, colons (and dots, for an IPv4 tail) around two close colons,
    standing alone and with ``::`` or seven colons."""
    done = 0
    for match in _V6_ANCHOR.finditer(text):
        if match.start() < done:
            continue
        first = match.start()
        while first > 0 and match.start() - first < 40 and text[first - 1] in _V6_CHARS:
            first -= 1
        tail = _V6_TAIL.match(text, match.end())
        end = tail.end() if tail is not None else match.end()
        done = end
        if first > 0 and (text[first - 1] in _WORD or text[first - 1] == "."):
            continue
        while end > first and text[end - 1] == ".":
            end -= 1  # the end of a sentence
        candidate = text[first:end]
        colons = candidate.count(":")
        if "::" not in candidate and colons < (6 if "." in candidate else 7):
            continue  # 12:30:45, a MAC: not an address
        if end < len(text) and text[end] in _WORD:
            continue
        yield first, end


def mac_spans(text: str) -> Iterator[Span]:
    """Six pairs of hex digits with one kind of separator, standing alone."""
    done = 0
    for match in _matches(_MAC_REST, text):
        first = match.start() - 2
        end = match.end()
        if first < done or text[first] not in _HEX or text[first + 1] not in _HEX:
            continue
        if first > 0 and text[first - 1] in _MAC_EDGE:
            continue
        if end < len(text) and text[end] in _MAC_EDGE:
            continue
        done = end
        yield first, end


def substitute(text: str, spans: Iterator[Span], replace: Callable[[str], str | None]) -> str:
    """``text`` with each span replaced by ``replace(span text)`` (None: left as it is)."""
    pieces: list[str] = []
    kept = 0
    for start, end in spans:
        replacement = replace(text[start:end])
        if replacement is None:
            continue
        pieces.append(text[kept:start])
        pieces.append(replacement)
        kept = end
    if not pieces:
        return text
    pieces.append(text[kept:])
    return "".join(pieces)
