"""Core dump metadata as koredump's API returns it: flat objects, filtered, oldest first.

What a node program sends is checked again here (an allowlist of keys): whatever a node
says, no environment variable of a crashed container and no file-system detail leaves the
service.
"""

from __future__ import annotations

import contextlib
import re
import signal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from must_gather_api.cores.nodeprogram import SECRET_FIELDS, valid_id

DERIVED_KEYS = ("id", "node", "pod", "container", "namespace", "image_name", "ARCH")
_INTEGER_FIELDS = (
    "COREDUMP_PID",
    "COREDUMP_UID",
    "COREDUMP_GID",
    "COREDUMP_SIGNAL",
    "COREDUMP_TIMESTAMP",
)
# Fields systemd-coredump records that describe files or memory, not the crash.
_WITHHELD = SECRET_FIELDS | {"COREDUMP_FILENAME", "COREDUMP_OPEN_FDS", "COREDUMP_PROC_MAPS"}
_NODE_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")


def valid_node(name: str) -> bool:
    return bool(_NODE_NAME.fullmatch(name))


def valid_core_id(core_id: str) -> bool:
    return valid_id(core_id)


@dataclass(frozen=True)
class FileFacts:
    """What a download needs to know about the file, kept out of the metadata."""

    size: int
    mtime: float


def public(raw: Mapping[str, Any], node: str) -> dict[str, Any]:
    """One core as the API shows it: ``COREDUMP_*`` fields and koredump's derived keys."""
    core: dict[str, Any] = {}
    for key, value in raw.items():
        if key.startswith("COREDUMP_") and key not in _WITHHELD:
            core[key] = value if isinstance(value, int | str) else str(value)
        elif key in DERIVED_KEYS and isinstance(value, str):
            core[key] = value
    for key in _INTEGER_FIELDS:
        value = core.get(key)
        if isinstance(value, str) and value.isdigit():
            core[key] = int(value)
    number = core.get("COREDUMP_SIGNAL")
    if "COREDUMP_SIGNAL_NAME" not in core and isinstance(number, int):
        with contextlib.suppress(ValueError):
            core["COREDUMP_SIGNAL_NAME"] = signal.Signals(number).name
    core["node"] = node
    return dict(sorted(core.items()))


def facts(raw: Mapping[str, Any]) -> FileFacts:
    size, mtime = raw.get("size"), raw.get("mtime")
    return FileFacts(
        size=size if isinstance(size, int) and size >= 0 else 0,
        mtime=float(mtime) if isinstance(mtime, int | float) else 0.0,
    )


def matches(core: Mapping[str, Any], *, namespace: str, pod: str) -> bool:
    """koredump's filters: each, when given, must equal the core's value."""
    if namespace and core.get("namespace") != namespace:
        return False
    return not (pod and core.get("pod") != pod)


def _order(core: Mapping[str, Any]) -> tuple[int, str, str]:
    stamp = core.get("COREDUMP_TIMESTAMP")
    return (stamp if isinstance(stamp, int) else 0, str(core.get("id", "")), core["node"])


def oldest_first(cores: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sorted by ``COREDUMP_TIMESTAMP``, oldest first (the newest is last, as in koredump)."""
    return sorted(cores, key=_order)
