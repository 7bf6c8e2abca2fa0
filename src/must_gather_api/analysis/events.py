"""Warning events, grouped by reason and object: one finding per group with its count."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from must_gather_api.analysis.model import Finding, Severity
from must_gather_api.analysis.source import ArchiveFiles, meta, one_line

AREA = "events"
PATHS = re.compile(r"(^|/)namespaces/[^/]+/core/events\.yaml$")


@dataclass
class _Group:
    count: int = 0
    last_time: str = ""
    last_message: str = ""
    paths: list[str] = field(default_factory=list)


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _involved(event: dict[str, Any]) -> str:
    involved = event.get("involvedObject") or event.get("regarding") or {}
    kind, name = involved.get("kind", "?"), involved.get("name", "?")
    ns = involved.get("namespace")
    return f"{kind}/{ns}/{name}" if ns else f"{kind}/{name}"


def analyze(files: ArchiveFiles) -> list[Finding]:
    groups: dict[tuple[str, str], _Group] = {}
    seen: set[str] = set()
    for path, event in files.objects(PATHS, "Event"):
        if event.get("type") != "Warning":
            continue
        m = meta(event)
        identity = str(m.get("uid") or f"{m.get('namespace')}/{m.get('name')}")
        group = groups.setdefault((str(event.get("reason", "?")), _involved(event)), _Group())
        if path not in group.paths:
            group.paths.append(path)
        if identity in seen:  # the same event dumped by two images
            continue
        seen.add(identity)
        group.count += int(event.get("count") or 1)
        when = str(event.get("lastTimestamp") or event.get("eventTime") or "")
        if when >= group.last_time:
            group.last_time, group.last_message = when, one_line(event.get("message"), 200)
    return [
        Finding(
            Severity.WARNING,
            AREA,
            involved,
            reason,
            f"{reason} ({_times(group.count)}): {group.last_message}",
            tuple(group.paths),
        )
        for (reason, involved), group in groups.items()
    ]
