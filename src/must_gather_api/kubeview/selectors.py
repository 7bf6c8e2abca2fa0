"""Label and field selectors, as the API server reads them, over objects as dicts."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Match = Callable[[dict[str, Any]], bool]


class BadSelector(ValueError):
    """The selector cannot be parsed (the API server answers 400)."""


_SET = re.compile(r"^\s*(?P<key>[^\s!=]+)\s+(?P<op>in|notin)\s+\((?P<values>[^)]*)\)\s*$")
_EQUALITY = re.compile(r"^\s*(?P<key>[^\s!=]+)\s*(?P<op>==|=|!=)\s*(?P<value>[^\s,]*)\s*$")
_EXISTS = re.compile(r"^\s*(?P<not>!?)\s*(?P<key>[^\s!=(),]+)\s*$")


def _terms(selector: str) -> list[str]:
    """Split at commas outside parentheses."""
    terms, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [t for t in terms if t.strip()]


def _label_term(term: str) -> Match:
    if m := _SET.match(term):
        key, values = m["key"], {v.strip() for v in m["values"].split(",") if v.strip()}
        inside = m["op"] == "in"
        return lambda o: (_labels(o).get(key) in values) == inside
    if m := _EQUALITY.match(term):
        key, value, equal = m["key"], m["value"], m["op"] != "!="
        return lambda o: (_labels(o).get(key) == value) == equal
    if m := _EXISTS.match(term):
        key, present = m["key"], not m["not"]
        return lambda o: (key in _labels(o)) == present
    raise BadSelector(f"unable to parse requirement: {term.strip()!r}")


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _field(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _field_term(term: str) -> Match:
    m = _EQUALITY.match(term)
    if m is None:
        raise BadSelector(f"invalid field selector: {term.strip()!r}")
    key, value, equal = m["key"], m["value"], m["op"] != "!="
    return lambda o: (_field(o, key) == value) == equal


def label_selector(selector: str | None) -> Match:
    matches = [_label_term(term) for term in _terms(selector or "")]
    return lambda o: all(match(o) for match in matches)


def field_selector(selector: str | None) -> Match:
    matches = [_field_term(term) for term in _terms(selector or "")]
    return lambda o: all(match(o) for match in matches)
