"""``event-filter.html``: every event of every ``events.yaml`` in the tree, in one page.

oc's page loads bootstrap and jQuery from CDNs; this one is self-contained (inline CSS and
a few lines of inline JavaScript to filter), so it opens where there is no network, which
is where must-gather archives are often read. Everything from the cluster is escaped.
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
_MAX_EVENTS_FILE = 64 * 1024 * 1024
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


def _load(text: str) -> Any:
    # Gather images often write JSON, which is YAML too and parses far faster as JSON.
    try:
        return json.loads(text)
    except ValueError:
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader


def find_events(root: Path) -> list[dict[str, Any]]:
    """Blocking: the items of every parsable ``events.yaml`` under ``root`` (links not followed)."""
    events: list[dict[str, Any]] = []
    for directory, _dirs, files in os.walk(root):
        if "events.yaml" not in files:
            continue
        path = Path(directory, "events.yaml")
        try:
            if path.is_symlink() or path.stat().st_size > _MAX_EVENTS_FILE:
                continue
            document = _load(path.read_text(encoding="utf-8", errors="replace"))
        except (OSError, yaml.YAMLError) as e:
            log.warning("skipping %s: %s", path, e)
            continue
        if isinstance(document, dict):
            events += [item for item in document.get("items") or [] if isinstance(item, dict)]
    return events


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


def render(events: list[dict[str, Any]]) -> str:
    ordered = sorted(events, key=_time)
    filters = "".join(
        f'<input data-col="{index}" placeholder="{name}" oninput="filterEvents()">'
        for index, name in enumerate(_COLUMNS)
    )
    header = "".join(f"<th>{name}</th>" for name in _COLUMNS)
    rows = "\n".join(_row(event) for event in ordered)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Events</title>"
        f"<style>{_STYLE}</style><script>{_SCRIPT}</script></head>\n<body>"
        f"<h1>Events ({len(ordered)})</h1><div>{filters}</div>"
        f'<table id="events"><thead><tr>{header}</tr></thead><tbody>\n{rows}\n'
        "</tbody></table></body></html>\n"
    )


def write_page(root: Path) -> int:
    """Blocking: writes ``root/event-filter.html``; returns how many events it shows."""
    events = find_events(root)
    (root / PAGE).write_text(render(events), encoding="utf-8")
    return len(events)
