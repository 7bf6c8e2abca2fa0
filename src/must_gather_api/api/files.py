"""Browsing an archive on the server: `/must-gather/{reference}/files[/{path}]`.

The list comes from the archive's index; a file is read from its offset in the archive
(``archive.seekable``), never by unpacking the rest. Paths are the index's, matched
exactly: a name with `..`, an absolute name or an encoded slash matches nothing (404).
Same authentication and scoping as `/data`.
"""

from __future__ import annotations

import asyncio
import mimetypes
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from must_gather_api.api.deps import CallerDep, ServicesDep
from must_gather_api.api.downloads import content_disposition
from must_gather_api.api.problems import problem
from must_gather_api.api.scoping import archive_of, find_visible
from must_gather_api.archive.index import FILE, Member
from must_gather_api.archive.seekable import read_span
from must_gather_api.errors import ArchiveNotAvailable
from must_gather_api.gatherings.indexes import Indexed

router = APIRouter(prefix="/must-gather", tags=["archive contents"])

# What a browser shows as text; anything else by the system's table, else bytes. Markup
# (html, svg, xml) from a pod is not trusted: it is sent as text, and with a sandbox CSP.
_TEXT = "text/plain; charset=utf-8"
_TYPES = {
    ".json": "application/json",
    ".gz": "application/gzip",
    ".tgz": "application/gzip",
    ".tar": "application/x-tar",
}
_TEXT_SUFFIXES = {
    "",
    ".log",
    ".txt",
    ".yaml",
    ".yml",
    ".pem",
    ".crt",
    ".csv",
    ".conf",
    ".html",
    ".htm",
    ".xml",
    ".svg",
    ".md",
    ".out",
    ".err",
    ".sh",
}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_PIECE = 256 * 1024


def content_type(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in _TEXT_SUFFIXES:
        return _TEXT
    if suffix in _TYPES:
        return _TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path)
    if guessed is None or guessed.startswith(("text/", "image/svg")) or "xml" in guessed:
        return _TEXT if guessed else "application/octet-stream"
    return guessed


def byte_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """``(start, end exclusive)`` of a single Range; None for the whole file (no header,
    several ranges or one not understood, as RFC 9110 allows); "unsatisfiable"."""
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None or (not match[1] and not match[2]):
        return None
    if not match[1]:
        suffix = int(match[2])
        return (max(size - suffix, 0), size) if suffix and size else "unsatisfiable"
    start = int(match[1])
    end = min(int(match[2]) + 1, size) if match[2] else size
    if start >= size or end <= start:
        return "unsatisfiable"
    return start, end


def _item(member: Member) -> dict[str, Any]:
    item: dict[str, Any] = {
        "path": member.path,
        "type": member.type,
        "size": member.size,
        "mtime": datetime.fromtimestamp(member.mtime, UTC).isoformat().replace("+00:00", "Z"),
    }
    if member.target:
        item["target"] = member.target
    return item


async def _indexed(
    reference: str, caller: CallerDep, services: ServicesDep
) -> tuple[Path, Indexed]:
    gathering = await find_visible(reference, caller, services)
    archive = await archive_of(gathering, services)
    return archive, await services.indexes.get(gathering.id)


@router.get(
    "/{reference}/files",
    responses={200: {"content": {"application/json": {}}}, 400: {}, 404: {}},
    summary="The members of the archive",
)
async def list_files(
    reference: str,
    caller: CallerDep,
    services: ServicesDep,
    prefix: Annotated[str, Query(description="Only paths that start with this.")] = "",
    limit: Annotated[int, Query(ge=1, le=100000, description="At most this many.")] = 1000,
    offset: Annotated[int, Query(ge=0, le=2**31, description="Skip this many first.")] = 0,
) -> JSONResponse:
    """Every member (path, type, size, mtime), in archive order: `{"total", "items"}`."""
    _archive, indexed = await _indexed(reference, caller, services)
    chosen = [m for m in indexed.index.members if m.path.startswith(prefix)]
    page = chosen[offset : offset + limit]
    return JSONResponse({"total": len(chosen), "items": [_item(m) for m in page]})


@router.get(
    "/{reference}/files/{path:path}",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"*/*": {}}, "description": "The file."},
        206: {"content": {"*/*": {}}, "description": "The range asked for."},
        400: {},
        404: {},
        416: {},
    },
    summary="One file of the archive",
)
@router.head("/{reference}/files/{path:path}", include_in_schema=False)
async def get_file(
    reference: str,
    path: str,
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    download: Annotated[bool, Query(description="As an attachment, to save.")] = False,
) -> Response:
    """One regular file, from its offset in the archive. Range (one range) gives 206."""
    raw_path = request.scope.get("raw_path", b"")
    if b"%2f" in raw_path.lower():
        raise ArchiveNotAvailable("no file has that path in the archive")
    archive, indexed = await _indexed(reference, caller, services)
    member = indexed.by_path.get(path)
    if member is None or member.type != FILE:
        raise ArchiveNotAvailable("no file has that path in the archive")
    headers = {
        "accept-ranges": "bytes",
        "content-type": content_type(member.path),
        "etag": f'"{indexed.index.archive_mtime_ns:x}-{member.offset:x}-{member.size:x}"',
        "last-modified": formatdate(member.mtime, usegmt=True),
        "x-content-type-options": "nosniff",
        "content-security-policy": "sandbox; default-src 'none'",
    }
    if download:
        headers["content-disposition"] = content_disposition(Path(member.path).name)
    wanted = byte_range(request.headers.get("range"), member.size)
    if wanted == "unsatisfiable":
        refused = problem(416, "the range is outside the file")
        refused.headers["content-range"] = f"bytes */{member.size}"
        return refused
    status = 200
    start, end = 0, member.size
    if isinstance(wanted, tuple):
        status, (start, end) = 206, wanted
        headers["content-range"] = f"bytes {start}-{end - 1}/{member.size}"
    headers["content-length"] = str(end - start)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    body = _stream(archive, indexed, member.offset + start, end - start)
    return StreamingResponse(body, status_code=status, headers=headers)


async def _stream(archive: Path, indexed: Indexed, start: int, length: int) -> AsyncIterator[bytes]:
    file: BinaryIO = await asyncio.to_thread(archive.open, "rb")
    try:
        pieces = read_span(file, indexed.index.checkpoints, start, length)
        while (piece := await asyncio.to_thread(next, pieces, None)) is not None:
            for at in range(0, len(piece), _PIECE):
                yield piece[at : at + _PIECE]
    finally:
        await asyncio.to_thread(file.close)
