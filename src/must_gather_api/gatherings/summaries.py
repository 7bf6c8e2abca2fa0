"""The findings of a gathering's archive: computed when it is ready, stored beside it.

``summary.json`` holds the whole summary (`GET /must-gather/{id}/summary`);
``summary.brief.json`` only the counts and products that the gathering object carries,
so polling a gathering does not parse every finding. An archive made before analysis
existed is analyzed on first request. All functions here block: call them off the loop.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from must_gather_api.analysis.model import Summary
from must_gather_api.analysis.run import analyze_archive
from must_gather_api.archive import index
from must_gather_api.gatherings.layout import Layout

log = logging.getLogger(__name__)


def _write_json(body: dict[str, Any], path: Path) -> None:
    index.write_atomically(path, json.dumps(body, ensure_ascii=False))


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        body = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def brief(summary: Summary) -> dict[str, Any]:
    body = summary.to_json()
    return {"counts": body["counts"], "products": body["products"]}


def compute(layout: Layout, gathering_id: int, gathered_at: datetime) -> Summary:
    """Analyze the archive (indexing it first if it has no index) and store the summary."""
    archive = layout.archive(gathering_id)
    found = index.load(layout.archive_index(gathering_id))
    if found is None or not found.matches(archive):
        found = index.scan(archive)
        index.save(found, layout.archive_index(gathering_id))
    summary = analyze_archive(archive, found, gathered_at)
    _write_json(summary.to_json(), layout.summary(gathering_id))
    _write_json(brief(summary), layout.summary_brief(gathering_id))
    return summary


def load(layout: Layout, gathering_id: int) -> Summary | None:
    body = _read_json(layout.summary(gathering_id))
    try:
        return Summary.from_json(body) if body is not None else None
    except (KeyError, ValueError, TypeError):
        return None


def load_brief(layout: Layout, gathering_id: int) -> dict[str, Any] | None:
    return _read_json(layout.summary_brief(gathering_id))
