"""The gathered cluster's own domains, found in the gathered tree.

must-gather-clean needs its domains listed; the default configuration here instead finds
the cluster's: the DNS config's ``spec.baseDomain``, the Infrastructure's API server URL
(``api.<base>``), the Ingress config's ``spec.domain`` (``apps.<base>``), and the DNS names
of the nodes (``<node>.<domain>``). Only names of two labels or more count.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import yaml

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MAX_BYTES = 32 << 20
_DOMAIN = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)+")
_CONFIG_FILES = re.compile(
    r"(^|/)config\.openshift\.io/(dnses|infrastructures|ingresses)(\.yaml|/cluster\.yaml)$"
)
_NODE_FILES = re.compile(r"(^|/)core/nodes(\.yaml|/[^/]+\.yaml)$")
_PREFIXES = ("api-int.", "api.", "apps.")


def is_source(relative: str) -> bool:
    """Whether the file at ``relative`` may name the cluster's domain."""
    return bool(_CONFIG_FILES.search(relative) or _NODE_FILES.search(relative))


def detect(files: Iterable[tuple[str, Callable[[], IO[bytes]]]]) -> tuple[str, ...]:
    """The domains named by those of ``files`` (relative path, opener) that may name one."""
    found: set[str] = set()
    for relative, opener in files:
        if not is_source(relative):
            continue
        with opener() as file:
            data = file.read(_MAX_BYTES + 1)
        if len(data) > _MAX_BYTES:
            continue
        try:
            documents = list(yaml.load_all(data, Loader=_Loader))
        except yaml.YAMLError:
            continue
        for document in documents:
            for resource in _items(document):
                found.update(_domains_of(resource))
    return tuple(sorted(found))


def detect_in_tree(tree: Path) -> tuple[str, ...]:
    def sources() -> Iterable[tuple[str, Callable[[], IO[bytes]]]]:
        for directory, _dirs, files in os.walk(tree):
            for name in files:
                path = Path(directory, name)
                relative = path.relative_to(tree).as_posix()
                if is_source(relative) and path.is_file() and not path.is_symlink():
                    yield relative, _opener(path)

    return detect(sources())


def _opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


def _items(document: Any) -> Iterable[dict[str, Any]]:
    if not isinstance(document, dict):
        return
    items = document.get("items")
    if isinstance(items, list):
        yield from (item for item in items if isinstance(item, dict))
    yield document


def _domains_of(resource: dict[str, Any]) -> set[str]:
    kind = resource.get("kind")
    spec = _mapping(resource.get("spec"))
    status = _mapping(resource.get("status"))
    names: list[str] = []
    if kind == "DNS":
        names.append(str(spec.get("baseDomain") or ""))
    elif kind == "Infrastructure":
        for key in ("apiServerURL", "apiServerInternalURI"):
            names.append(urlsplit(str(status.get(key) or "")).hostname or "")
    elif kind == "Ingress":
        names.append(str(spec.get("domain") or ""))
    elif kind == "Node":
        node = str((resource.get("metadata") or {}).get("name") or "")
        for address in status.get("addresses") or []:
            if isinstance(address, dict) and str(address.get("type", "")).endswith(
                ("DNS", "Hostname")
            ):
                host = str(address.get("address") or "").lower()
                label, _, rest = host.partition(".")
                if rest and label in {node.lower(), node.lower().partition(".")[0]}:
                    names.append(rest)
    return {_base(name) for name in names if _DOMAIN.fullmatch(_base(name))}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _base(name: str) -> str:
    name = name.lower().strip(".")
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name
