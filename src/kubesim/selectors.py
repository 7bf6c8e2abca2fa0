"""Label and field selectors, parsed the way the Kubernetes API server reads them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubesim.errors import BadRequest

_KEY = re.compile(
    r"^([a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?/)?[a-zA-Z0-9]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?$"
)
_VALUE = re.compile(r"^([a-zA-Z0-9]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?)?$")
_SET_OP = re.compile(r"^(?P<key>[^\s!=(]+)\s+(?P<op>in|notin)\s*\((?P<values>[^)]*)\)$")
_EQ_OP = re.compile(r"^(?P<key>[^\s!=]+)\s*(?P<op>==|!=|=)\s*(?P<value>[^\s!=]*)$")

Matcher = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: frozenset[str]

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        # "!=" and "notin" match objects without the label, as in Kubernetes.
        return not present or value not in self.values


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside ``( ... )``."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _check_key(key: str, selector: str) -> str:
    if not _KEY.match(key):
        raise BadRequest(f'unable to parse requirement: invalid label key "{key}" in "{selector}"')
    return key


def _check_value(value: str, selector: str) -> str:
    if not _VALUE.match(value) or len(value) > 63:
        raise BadRequest(
            f'unable to parse requirement: invalid label value "{value}" in "{selector}"'
        )
    return value


def parse_label_selector(selector: str) -> list[Requirement]:
    """Requirements of a selector like ``app=x,tier in (a,b),!legacy``; raises BadRequest."""
    requirements: list[Requirement] = []
    for part in _split_top_level(selector):
        if part.startswith("!"):
            requirements.append(
                Requirement(_check_key(part[1:].strip(), selector), "!", frozenset())
            )
            continue
        set_match = _SET_OP.match(part)
        if set_match:
            values = frozenset(
                _check_value(v.strip(), selector)
                for v in set_match["values"].split(",")
                if v.strip()
            )
            key = _check_key(set_match["key"], selector)
            requirements.append(Requirement(key, set_match["op"], values))
            continue
        eq_match = _EQ_OP.match(part)
        if eq_match:
            op = "!=" if eq_match["op"] == "!=" else "="
            key = _check_key(eq_match["key"], selector)
            value = _check_value(eq_match["value"], selector)
            requirements.append(Requirement(key, op, frozenset({value})))
            continue
        if " " not in part and "=" not in part and "(" not in part:
            requirements.append(Requirement(_check_key(part, selector), "exists", frozenset()))
            continue
        raise BadRequest(f'unable to parse requirement: found "{part}" in "{selector}"')
    return requirements


def label_matcher(selector: str | None) -> Matcher:
    """A predicate over whole objects; ``None`` or "" selects everything."""
    if not selector:
        return lambda _obj: True
    requirements = parse_label_selector(selector)

    def match(obj: dict[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(r.matches(labels) for r in requirements)

    return match


def field_value(obj: dict[str, Any], path: str) -> str:
    """The string form of a dotted field path; missing fields read as ""."""
    current: Any = obj
    for step in path.split("."):
        if not isinstance(current, dict):
            return ""
        current = current.get(step)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def parse_field_selector(selector: str) -> list[tuple[str, bool, str]]:
    """``(path, equal, value)`` triples of ``a.b=c,d!=e``; raises BadRequest."""
    terms: list[tuple[str, bool, str]] = []
    for part in _split_top_level(selector):
        for op, equal in (("!=", False), ("==", True), ("=", True)):
            if op in part:
                path, _, value = part.partition(op)
                if not path.strip():
                    break
                terms.append((path.strip(), equal, value.strip()))
                break
        else:
            raise BadRequest(f'invalid selector: "{selector}"; can\'t understand "{part}"')
        if not terms or terms[-1][0] != part.partition("!")[0].partition("=")[0].strip():
            raise BadRequest(f'invalid selector: "{selector}"; can\'t understand "{part}"')
    return terms


def field_matcher(selector: str | None) -> Matcher:
    if not selector:
        return lambda _obj: True
    terms = parse_field_selector(selector)

    def match(obj: dict[str, Any]) -> bool:
        return all((field_value(obj, path) == value) == equal for path, equal, value in terms)

    return match
