"""must-gather-clean's omissions: files by glob, Kubernetes resources by kind, symlinks.

A File pattern is matched like Go's ``filepath.Match`` against the path relative to the
gathered root: ``*`` and ``?`` never cross a ``/``. A Kubernetes rule matches a YAML or
JSON file holding a resource of that kind (and apiVersion, and namespace, when given);
a list is omitted when any item matches, and items without a kind take the list's
(``ConfigMapList`` items are ConfigMaps). Files that do not parse are not resources.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import IO, Any

import yaml

from must_gather_api.redaction.config import OmitRule, OmitType

_RESOURCE_SUFFIXES = (".yaml", ".yml", ".json")
_SCAN_CHUNK = 1 << 20
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def glob_pattern(pattern: str) -> re.Pattern[str]:
    """Go's ``filepath.Match`` pattern as a regular expression over a whole path."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            out.append(re.escape(pattern[index]))
        elif char == "[":
            end = pattern.find("]", index + 2)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[index + 1 : end]
                negated = body.startswith("^")
                body = body[1:] if negated else body
                body = body.replace("\\", "\\\\")
                out.append(f"[{'^/' if negated else ''}{body}]")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("".join(out) + r"\Z")


class Omitter:
    """Decides which members are left out, and remembers them for the report."""

    def __init__(self, rules: tuple[OmitRule, ...]) -> None:
        self._globs = [glob_pattern(r.pattern) for r in rules if r.type is OmitType.FILE]
        self._links = any(r.type is OmitType.SYMBOLIC_LINK for r in rules)
        self._resources = [r for r in rules if r.type is OmitType.KUBERNETES]
        needles: set[bytes] = set()
        for rule in self._resources:
            # A file can only hold a matching resource if it names the kind (or, for a
            # rule of namespaces only, the namespace): cheap to check before parsing.
            words = [rule.kind] if rule.kind else list(rule.namespaces)
            needles.update(word.encode() for word in words)
        self._needles = tuple(needles)
        self.omitted: list[str] = []

    def path(self, relative: str, *, symlink: bool = False) -> bool:
        """Whether the member at ``relative`` (from the gathered root) is left out."""
        if (symlink and self._links) or any(g.match(relative) for g in self._globs):
            self.omitted.append(relative)
            return True
        return False

    def resource(self, relative: str, opener: Callable[[], IO[bytes]]) -> bool:
        """Whether the file holds a Kubernetes resource an omit rule names."""
        if not self._resources or not relative.lower().endswith(_RESOURCE_SUFFIXES):
            return False
        with opener() as file:
            if not _contains_any(file, self._needles):
                return False
        with opener() as file:
            resources = list(_resources(file.read(), json_file=relative.endswith(".json")))
        if any(_matches(rule, r) for rule in self._resources for r in resources):
            self.omitted.append(relative)
            return True
        return False


def _contains_any(file: IO[bytes], needles: tuple[bytes, ...]) -> bool:
    overlap = max((len(n) for n in needles), default=0)
    tail = b""
    while chunk := file.read(_SCAN_CHUNK):
        window = tail + chunk
        if any(n in window for n in needles):
            return True
        tail = window[-overlap:] if overlap else b""
    return False


def _resources(data: bytes, *, json_file: bool) -> Iterator[dict[str, Any]]:
    """Every resource in the file; items of a list with the list's kind when they have none."""
    try:
        documents = [json.loads(data)] if json_file else list(yaml.load_all(data, Loader=_Loader))
    except (ValueError, yaml.YAMLError):
        return
    for document in documents:
        if not isinstance(document, dict):
            continue
        kind = str(document.get("kind") or "")
        items = document.get("items")
        if kind.endswith("List") and isinstance(items, list):
            item_kind = kind.removesuffix("List")
            for item in items:
                if isinstance(item, dict):
                    yield {
                        "kind": item.get("kind") or item_kind,
                        "apiVersion": item.get("apiVersion") or "",
                        "metadata": item.get("metadata") or {},
                    }
        yield document


def _matches(rule: OmitRule, resource: dict[str, Any]) -> bool:
    if rule.kind and rule.kind != resource.get("kind"):
        return False
    if rule.api_version and rule.api_version != resource.get("apiVersion"):
        return False
    if rule.namespaces:
        metadata = resource.get("metadata")
        namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
        return namespace in rule.namespaces
    return True
