"""What analyzers read: the archive's file paths, their contents, parsed YAML, objects.

``ArchiveFiles`` is built over an indexed archive (``over_archive``) or over a dict of
contents (tests). Each file is read and parsed at most once, however many analyzers ask;
a file larger than ``MAX_FILE_BYTES`` or that is not YAML reads as nothing, as the data of
a failing cluster is often incomplete. Reading blocks: analysis runs off the event loop.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from must_gather_api.archive.index import FILE, ArchiveIndex
from must_gather_api.archive.seekable import read_span

MAX_FILE_BYTES = 64 * 1024 * 1024
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ArchiveFiles:
    def __init__(
        self, sizes: Mapping[str, int], reader: Callable[[str], bytes], *, top: str = ""
    ) -> None:
        self.sizes = dict(sizes)
        self._reader = reader
        self._parsed: dict[str, Any] = {}
        self.top = top

    @classmethod
    def from_contents(cls, contents: Mapping[str, bytes | str]) -> ArchiveFiles:
        data = {p: c.encode() if isinstance(c, str) else c for p, c in contents.items()}
        return cls({p: len(c) for p, c in data.items()}, data.__getitem__)

    @property
    def paths(self) -> list[str]:
        return list(self.sizes)

    def matching(self, pattern: re.Pattern[str]) -> list[str]:
        """Paths in which ``pattern`` is found (``search``), in archive order."""
        return [path for path in self.sizes if pattern.search(path)]

    def read(self, path: str) -> bytes:
        if self.sizes.get(path, MAX_FILE_BYTES + 1) > MAX_FILE_BYTES:
            return b""
        return self._reader(path)

    def text(self, path: str) -> str:
        return self.read(path).decode("utf-8", "replace")

    def yaml(self, path: str) -> Any:
        """The file parsed as YAML (JSON first when it looks like JSON: many images write
        JSON in their `.yaml` files, and it parses some twenty times faster)."""
        if path not in self._parsed:
            data = self.read(path)
            parsed: Any = None
            if data.lstrip()[:1] in (b"{", b"["):
                with contextlib.suppress(ValueError):
                    parsed = json.loads(data)
            if parsed is None:
                try:
                    parsed = yaml.load(data, Loader=_LOADER)  # noqa: S506
                except yaml.YAMLError:
                    parsed = None
            self._parsed[path] = parsed
        return self._parsed[path]

    def documents(self, path: str) -> Iterator[dict[str, Any]]:
        """The objects of one YAML file: a single object, or the items of a list (which get
        the list's apiVersion and kind when they lack their own, as in a dump)."""
        document = self.yaml(path)
        if not isinstance(document, dict):
            return
        if not isinstance(document.get("items"), list):
            if document.get("kind"):
                yield document
            return
        listed = str(document.get("kind", "")).removesuffix("List")
        version = document.get("apiVersion", "v1")
        for item in document["items"]:
            if isinstance(item, dict):
                yield {"apiVersion": version, "kind": listed, **item}

    def objects(self, pattern: re.Pattern[str], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(path, object)`` of every object of ``kind`` in the YAML files matching
        ``pattern``."""
        for path in self.matching(pattern):
            for obj in self.documents(path):
                if obj.get("kind") == kind:
                    yield path, obj


def over_archive(file: BinaryIO, index: ArchiveIndex) -> ArchiveFiles:
    """The regular files of an indexed archive, read from ``file`` (kept open by the caller)."""
    members = {m.path: m for m in index.members if m.type == FILE}

    def reader(path: str) -> bytes:
        member = members[path]
        return b"".join(read_span(file, index.checkpoints, member.offset, member.size))

    return ArchiveFiles({p: m.size for p, m in members.items()}, reader)


# Helpers over Kubernetes objects as dicts, shared by the analyzers.


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    found = obj.get("metadata")
    return found if isinstance(found, dict) else {}


def status(obj: dict[str, Any]) -> dict[str, Any]:
    found = obj.get("status")
    return found if isinstance(found, dict) else {}


def name_of(kind: str, obj: dict[str, Any]) -> str:
    """``Kind/namespace/name`` (namespaced) or ``Kind/name``."""
    m = meta(obj)
    ns = m.get("namespace")
    return f"{kind}/{ns}/{m.get('name', '?')}" if ns else f"{kind}/{m.get('name', '?')}"


def conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The status conditions by type."""
    found = status(obj).get("conditions")
    return {str(c.get("type")): c for c in found or [] if isinstance(c, dict) and c.get("type")}


def one_line(text: object, limit: int = 300) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def image_dir(path: str) -> str:
    """The directory an image's data sits in: ``must-gather/<image dir>`` (or the top)."""
    parts = Path(path).parts
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]
