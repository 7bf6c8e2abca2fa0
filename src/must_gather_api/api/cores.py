"""koredump's API (``/apiv1/cores``), wire-compatible, behind this service's checks.

Every route needs the caller's usual permission (``AUTH_*``) and ``CORES_*`` (cluster-admin
by default); deleting needs the admin permission too. Lists are koredump's JSON array; a
node that did not answer is named in ``Cores-Unavailable-Nodes``, and ``?format=object``
returns ``{"cores": [...], "unavailable_nodes": {node: why}}``.
"""

from __future__ import annotations

import re
from email.utils import formatdate
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from must_gather_api.api.deps import CallerDep, ServicesDep
from must_gather_api.api.downloads import content_disposition
from must_gather_api.auth.base import Caller
from must_gather_api.cores.decompression import (
    decompressed,
    decompressed_name,
    decompressor_for,
)
from must_gather_api.cores.service import Cores
from must_gather_api.errors import Forbidden, RangeNotSatisfiable

router = APIRouter(prefix="/apiv1/cores", tags=["core dumps"])
UNAVAILABLE_HEADER = "Cores-Unavailable-Nodes"
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


async def _allowed(caller: Caller, services: ServicesDep, *, admin: bool = False) -> Cores:
    settings = services.settings
    if not await services.authenticator.may(caller, settings.cores_permission):
        raise Forbidden(
            "reading core dumps needs the CORES_* permission (cluster-admin by default)"
        )
    if admin and not caller.is_admin:
        raise Forbidden("deleting a core dump needs the admin permission (AUTH_ADMIN_*)")
    return services.cores


_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    400: {"description": "A query parameter is not valid (the problem names it)."},
    502: {"description": "A node's pod answered with something that is not a core listing."},
    503: {"description": "Core dumps cannot be read: no cluster configured, or it is unreachable."},
}
_ONE_CORE: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such node, or no such core on it."},
    **_UNAVAILABLE,
}


@router.get(
    "", responses=_UNAVAILABLE, summary="Core dumps of every node, oldest first (koredump's list)"
)
async def list_cores(
    caller: CallerDep,
    services: ServicesDep,
    namespace: Annotated[str, Query(description="Only cores of this namespace.")] = "",
    pod: Annotated[str, Query(description="Only cores of this pod.")] = "",
    format: Annotated[
        Literal["list", "object"], Query(description="`object` adds unavailable_nodes.")
    ] = "list",
) -> Response:
    cores = await _allowed(caller, services)
    listing = await cores.list(namespace=namespace, pod=pod)
    headers = {}
    if listing.unavailable:
        headers[UNAVAILABLE_HEADER] = ", ".join(sorted(listing.unavailable))
    body: Any = listing.cores
    if format == "object":
        body = {"cores": listing.cores, "unavailable_nodes": listing.unavailable}
    return JSONResponse(body, headers=headers)


@router.get("/metadata/{node}/{core_id}", responses=_ONE_CORE, summary="One core's metadata")
async def metadata(node: str, core_id: str, caller: CallerDep, services: ServicesDep) -> Any:
    cores = await _allowed(caller, services)
    return await cores.metadata(node, core_id)


def _range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, length) of a single satisfiable byte range; None for the whole file."""
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None  # not one range of bytes: the whole file, as RFC 9110 allows
    first, last = match.group(1), match.group(2)
    if first == "":
        length = min(int(last), size)
        return (size - length, length) if length else None
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(f"the core has {size} bytes; the range is outside", size=size)
    return start, end - start + 1


@router.get(
    "/download/{node}/{core_id}",
    responses={
        **_ONE_CORE,
        206: {"description": "The requested range."},
        415: {"description": "decompress=true for a compression other than zstd, lz4, xz."},
        416: {"description": "The range is outside the core."},
    },
    summary="Download a core (Range, or decompressed)",
)
async def download(
    node: str,
    core_id: str,
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    decompress: Annotated[bool, Query(description="Undo zstd, lz4 or xz.")] = False,
) -> Response:
    cores = await _allowed(caller, services)
    if decompress:
        decompressor_for(core_id)  # 415 before any pod is made
    opened = await cores.open(node, core_id)
    try:
        facts = opened.facts
        headers = {"Last-Modified": formatdate(facts.mtime, usegmt=True)}
        headers["Cache-Control"] = "no-cache"
        if decompress:
            headers["Content-Disposition"] = content_disposition(decompressed_name(core_id))
            return StreamingResponse(
                decompressed(decompressor_for(core_id), opened.chunks(0, facts.size)),
                media_type="application/octet-stream",
                headers=headers,
            )
        headers["Content-Disposition"] = content_disposition(core_id)
        headers["Accept-Ranges"] = "bytes"
        chosen = _range(request.headers.get("range"), facts.size)
        status = 200
        start, length = 0, facts.size
        if chosen is not None:
            start, length = chosen
            status = 206
            headers["Content-Range"] = f"bytes {start}-{start + length - 1}/{facts.size}"
        headers["Content-Length"] = str(length)
        return StreamingResponse(
            opened.chunks(start, length),
            status_code=status,
            media_type="application/octet-stream",
            headers=headers,
        )
    except BaseException:
        await opened.close()
        raise


@router.delete(
    "/delete/{node}/{core_id}", responses=_ONE_CORE, summary="Delete a core from its node (admins)"
)
async def delete(node: str, core_id: str, caller: CallerDep, services: ServicesDep) -> Any:
    cores = await _allowed(caller, services, admin=True)
    await cores.delete(node, core_id)
    return {"id": core_id, "node": node, "deleted": True}
