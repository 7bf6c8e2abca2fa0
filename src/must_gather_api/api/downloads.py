"""Serving an archive: from disk, never read into memory, resumable.

Starlette's FileResponse gives Range/206, If-Range, ETag and Last-Modified, and hands
the whole file to the server with `pathsend` where the server supports it (granian);
elsewhere it streams in 1 MiB chunks instead of 64 KiB.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from starlette.responses import FileResponse

from must_gather_api.archive.naming import safe_file_part


class ArchiveResponse(FileResponse):
    chunk_size = 1024 * 1024


def content_disposition(name: str) -> str:
    """RFC 6266: an ASCII `filename` every client understands, plus the exact `filename*`.

    Neither can carry a quote, CR or LF, so a custom-name cannot inject a header.
    """
    ascii_name = safe_file_part(name).encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def archive_response(path: Path, *, name: str) -> ArchiveResponse:
    response = ArchiveResponse(
        path, media_type="application/gzip" if name.endswith((".gz", ".tgz")) else None
    )
    response.headers["content-disposition"] = content_disposition(name)
    return response
