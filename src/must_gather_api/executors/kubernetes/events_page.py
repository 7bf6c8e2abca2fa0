"""``event-filter.html`` of a tree: every event of every ``events.yaml`` under it, in one
page (the page itself is ``archive.event_filter``'s).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import yaml

from must_gather_api.archive.event_filter import MAX_EVENTS_FILE, PAGE, items, parse, render

log = logging.getLogger(__name__)

__all__ = ["PAGE", "find_events", "render", "write_page"]


def find_events(root: Path) -> list[dict[str, Any]]:
    """Blocking: the items of every parsable ``events.yaml`` under ``root`` (links not followed)."""
    events: list[dict[str, Any]] = []
    for directory, _dirs, files in os.walk(root):
        if "events.yaml" not in files:
            continue
        path = Path(directory, "events.yaml")
        try:
            if path.is_symlink() or path.stat().st_size > MAX_EVENTS_FILE:
                continue
            document = parse(path.read_text(encoding="utf-8", errors="replace"))
        except (OSError, yaml.YAMLError) as e:
            log.warning("skipping %s: %s", path, e)
            continue
        events += items(document)
    return events


def write_page(root: Path) -> int:
    """Blocking: writes ``root/event-filter.html``; returns how many events it shows."""
    events = find_events(root)
    (root / PAGE).write_text(render(events), encoding="utf-8")
    return len(events)
