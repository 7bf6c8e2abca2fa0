"""``event-filter.html`` of a tree: every event of every ``events.yaml`` under it, in one
page (the page, and the walk that finds the files, are ``archive.event_filter``'s).
"""

from __future__ import annotations

from pathlib import Path

from must_gather_api.archive.event_filter import PAGE, render_rows, tree_rows

__all__ = ["PAGE", "write_page"]


def write_page(root: Path) -> int:
    """Blocking: writes ``root/event-filter.html``; returns how many events it shows."""
    found = tree_rows(root)
    (root / PAGE).write_text(render_rows(found), encoding="utf-8")
    return len(found)
