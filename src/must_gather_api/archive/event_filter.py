"""The page ``event-filter.html``: events as one self-contained HTML table, built from
parsed ``events.yaml`` documents.

oc's page loads bootstrap and jQuery from CDNs; this one is self-contained (inline CSS and
a few lines of inline JavaScript to filter), so it opens where there is no network, which
is where must-gather archives are often read. Everything from the cluster is escaped.
Pure: the executor builds the page from a tree (``executors.kubernetes.events_page``), the
one-pass packer from the members it reads (``onepass``), so it lives below both.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

PAGE = "event-filter.html"
_RED = re.compile(r"fail|error|kill|backoff", re.IGNORECASE)
_YELLOW = re.compile(r"notready|unhealthy|missing", re.IGNORECASE)
MAX_EVENTS_FILE = 64 * 1024 * 1024  # larger events.yaml files are left out of the page
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1em;color:#222}
h1{font-size:1.3em}
input{margin:0 .5em .8em 0;padding:.3em;width:14em}
table{border-collapse:collapse;width:100%;font-size:.85em}
th,td{border:1px solid #ccc;padding:.25em .4em;text-align:left;vertical-align:top}
th{background:#eee;position:sticky;top:0}
tr.red td.reason{background:#f8d7da}
tr.yellow td.reason{background:#fff3cd}
td.message{white-space:pre-wrap;word-break:break-word}
"""

_SCRIPT = """
function filterEvents(){
  var inputs=document.querySelectorAll('input[data-col]');
  var rows=document.querySelectorAll('#events tbody tr');
  for(var r=0;r<rows.length;r++){
    var show=true;
    for(var i=0;i<inputs.length;i++){
      var want=inputs[i].value.toLowerCase();
      var cell=rows[r].cells[Number(inputs[i].dataset.col)];
      if(want&&cell.textContent.toLowerCase().indexOf(want)<0){show=false;break;}
    }
    rows[r].style.display=show?'':'none';
  }
}
"""

_COLUMNS = ("Time", "Namespace", "Component", "RelatedObject", "Reason", "Message")


def parse(text: str) -> Any:
    """An ``events.yaml`` document (yaml.YAMLError when it is neither JSON nor YAML)."""
    # Gather images often write JSON, which is YAML too and parses far faster as JSON.
    try:
        return json.loads(text)
    except ValueError:
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader


def items(document: Any) -> list[dict[str, Any]]:
    """The events of one parsed document (none when it is not an event list)."""
    if not isinstance(document, dict):
        return []
    return [item for item in document.get("items") or [] if isinstance(item, dict)]


def _time(event: dict[str, Any]) -> str:
    meta = event.get("metadata") or {}
    return str(
        event.get("lastTimestamp") or event.get("eventTime") or meta.get("creationTimestamp") or ""
    )


def _row(event: dict[str, Any]) -> str:
    meta = event.get("metadata") or {}
    reason = str(event.get("reason") or "")
    level = "red" if _RED.search(reason) else "yellow" if _YELLOW.search(reason) else ""
    count = event.get("count") or 1
    when = _time(event)
    first = str(event.get("firstTimestamp") or "")
    cells = (
        f'<td title="First Seen: {html.escape(first)}">{html.escape(when)}'
        f"{f' (x{int(count)})' if isinstance(count, int) and count > 1 else ''}</td>",
        f"<td>{html.escape(str(meta.get('namespace') or ''))}</td>",
        f"<td>{html.escape(str((event.get('source') or {}).get('component') or ''))}</td>",
        f"<td>{html.escape(str((event.get('involvedObject') or {}).get('name') or ''))}</td>",
        f'<td class="reason">{html.escape(reason)}</td>',
        f'<td class="message">{html.escape(str(event.get("message") or ""))}</td>',
    )
    return f'<tr class="{level}">{"".join(cells)}</tr>'


Row = tuple[str, str]  # an event's time (the sort key) and its table row


def rows(events: list[dict[str, Any]]) -> list[Row]:
    """Each event as its row, so a caller can keep rows rather than parsed documents."""
    return [(_time(event), _row(event)) for event in events]


def render(events: list[dict[str, Any]]) -> str:
    return render_rows(rows(events))


def render_rows(found: list[Row]) -> str:
    ordered = sorted(found, key=lambda row: row[0])  # stable: equal times keep their order
    filters = "".join(
        f'<input data-col="{index}" placeholder="{name}" oninput="filterEvents()">'
        for index, name in enumerate(_COLUMNS)
    )
    header = "".join(f"<th>{name}</th>" for name in _COLUMNS)
    body = "\n".join(row for _when, row in ordered)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Events</title>"
        f"<style>{_STYLE}</style><script>{_SCRIPT}</script></head>\n<body>"
        f"<h1>Events ({len(ordered)})</h1><div>{filters}</div>"
        f'<table id="events"><thead><tr>{header}</tr></thead><tbody>\n{body}\n'
        "</tbody></table></body></html>\n"
    )


def rows_of(data: bytes, name: str) -> list[Row]:
    """The page's rows of one events.yaml; none when it cannot be read, as the tree's page
    skips such a file. Rows, not the parsed document, are kept: far less memory."""
    try:
        document = parse(data.decode("utf-8", errors="replace"))
        return rows(items(document))
    except (yaml.YAMLError, MemoryError, RecursionError) as e:
        log.warning("skipping %s for the events page: %s", name, type(e).__name__)
        return []


def tree_rows(root: Path) -> list[Row]:
    """As ``rows_of``, for every events.yaml under ``root`` (links not followed)."""
    found: list[Row] = []
    for directory, _dirs, files in os.walk(root):
        if "events.yaml" not in files:
            continue
        path = Path(directory, "events.yaml")
        try:
            if path.is_symlink() or path.stat().st_size > MAX_EVENTS_FILE:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        found += rows_of(data, path.relative_to(root).as_posix())
    return found
