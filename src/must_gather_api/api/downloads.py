"""Serving an archive: from disk, never read into memory, resumable.

Starlette's FileResponse gives Range/206, If-Range, ETag and Last-Modified, and hands
the whole file to the server with `pathsend` where the server supports it (granian);
elsewhere it streams in 1 MiB chunks instead of 64 KiB.

Behind a reverse proxy that serves DATA_DIR at an internal location (ACCEL_REDIRECT_PREFIX),
the answer is only headers with ``X-Accel-Redirect``: the service has checked the caller and
chosen the file; the proxy sends it with sendfile and answers Range, If-Range, HEAD and
conditional requests itself. The location is made from our own path to the archive, never
from the request.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from starlette.responses import FileResponse, Response

from must_gather_api.archive.naming import safe_file_part


class ArchiveResponse(FileResponse):
    chunk_size = 1024 * 1024


def content_disposition(name: str) -> str:
    """RFC 6266: an ASCII `filename` every client understands, plus the exact `filename*`.

    Neither can carry a quote, CR or LF, so a custom-name cannot inject a header.
    """
    ascii_name = safe_file_part(name).encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def archive_response(
    path: Path, *, name: str, data_dir: Path | None = None, accel_prefix: str = ""
) -> Response:
    """The archive at ``path``, sent by the server, or by the proxy when ``accel_prefix``
    names the location where it serves ``data_dir``."""
    response = ArchiveResponse(
        path, media_type="application/gzip" if name.endswith((".gz", ".tgz")) else None
    )
    response.headers["content-disposition"] = content_disposition(name)
    location = _accel_location(path, data_dir, accel_prefix)
    if location is None:
        return response
    offloaded = Response(media_type=response.media_type)
    offloaded.headers["content-disposition"] = response.headers["content-disposition"]
    offloaded.headers["x-accel-redirect"] = location
    # nginx keeps the upstream's caching headers; an archive's bytes never change under
    # one name, but the proxy must not keep them for anyone else.
    offloaded.headers["cache-control"] = "private, no-store"
    return offloaded


def _accel_location(path: Path, data_dir: Path | None, prefix: str) -> str | None:
    if not prefix or data_dir is None:
        return None
    try:
        relative = path.relative_to(data_dir)  # both from the layout: no I/O here
    except ValueError:
        return None
    return prefix + quote(relative.as_posix(), safe="/")
