"""What the kubelet's ``/logs/`` file server answers for a path under the node's /var/log.

The kubelet serves /var/log with Go's ``http.FileServer``: a file's bytes, a directory as a
small HTML page of links (directories with a trailing ``/``), a redirect that adds the
trailing slash to a directory named without one (and removes it from a file named with
one), and ``404 page not found`` otherwise. Unlike the real file server, a symbolic link
that leads out of the node's /var/log is treated as missing, and a path with a ``..``
segment or an empty one (an absolute path after ``/logs/``) is refused before any lookup.
"""

from __future__ import annotations

import html
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

NOT_FOUND = "404 page not found\n"


class RefusedPath(ValueError):
    """The requested path may not be looked up at all."""


@dataclass(frozen=True)
class Answer:
    """One file server answer: ``status`` with ``body`` of ``content_type``, or a redirect."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    location: str | None = None


def _segments(requested: str) -> list[str]:
    """The path's segments below /var/log; refuses ``..`` and absolute paths."""
    if requested.startswith("/"):
        raise RefusedPath("invalid URL path")
    parts = requested.split("/")
    inner = parts[:-1] if parts and parts[-1] == "" else parts
    if any(part in ("", ".", "..") or "\\" in part or "\0" in part for part in inner):
        raise RefusedPath("invalid URL path")
    return [p for p in parts if p]


def listing(directory: Path) -> bytes:
    """The directory page, as Go's file server writes it."""
    rows = []
    for entry in sorted(directory.iterdir(), key=lambda p: p.name):
        name = entry.name + ("/" if entry.is_dir() else "")
        rows.append(f'<a href="{urllib.parse.quote(name)}">{html.escape(name)}</a>\n')
    page = (
        '<!doctype html>\n<meta name="viewport" content="width=device-width">\n<pre>\n'
        + "".join(rows)
        + "</pre>\n"
    )
    return page.encode()


def serve(log_root: Path, requested: str) -> Answer:
    """The answer for ``requested`` (the path after ``/logs/``, trailing slash kept).

    Blocking: call it in a thread. ``log_root`` is the node's /var/log.
    """
    segments = _segments(requested)
    if not log_root.is_dir():
        return Answer(404, NOT_FOUND.encode())
    root = log_root.resolve()
    target = root.joinpath(*segments)
    real = target.resolve()
    if real != root and root not in real.parents:
        return Answer(404, NOT_FOUND.encode())
    if not real.exists():
        return Answer(404, NOT_FOUND.encode())
    wants_directory = requested == "" or requested.endswith("/")
    name = segments[-1] if segments else ""
    if real.is_dir():
        if not wants_directory:
            return Answer(301, location=f"{name}/")
        return Answer(200, listing(real), "text/html; charset=utf-8")
    if not real.is_file():
        return Answer(404, NOT_FOUND.encode())
    if wants_directory:
        return Answer(301, location=f"../{name}")
    return Answer(200, real.read_bytes())
