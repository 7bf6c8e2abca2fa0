"""The `/must-gather` routes, wire-compatible with forklift-must-gather-api."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import ValidationError

from must_gather_api import parameters
from must_gather_api.api import bodies, privileges, quotas
from must_gather_api.api.deps import CallerDep, Services, ServicesDep
from must_gather_api.api.downloads import archive_response
from must_gather_api.api.schemas import GatheringRequest, GatheringView, render
from must_gather_api.api.scoping import archive_of, find_visible_then, owner_filter
from must_gather_api.api.scoping import find_visible as _find
from must_gather_api.errors import InvalidParameter
from must_gather_api.executors.base import Credentials
from must_gather_api.gatherings import summaries
from must_gather_api.gatherings.outputs import read_from, read_tail
from must_gather_api.gatherings.records import Gathering, Status
from must_gather_api.settings import request_defaults

router = APIRouter(prefix="/must-gather", tags=["gatherings"])

_REQUEST_SCHEMA = {
    "required": False,
    "content": {
        "application/json": {"schema": GatheringRequest.model_json_schema(by_alias=True)},
        "application/x-www-form-urlencoded": {
            "schema": GatheringRequest.model_json_schema(by_alias=True)
        },
    },
}
_ONE: dict[int | str, dict[str, Any]] = {
    200: {"model": GatheringView},
    404: {"description": "No gathering has that id or name."},
}
_FOLLOW_WAIT_SECONDS = 5.0


def _files_of(gathering: Gathering, services: Services) -> tuple[str, dict[str, Any] | None]:
    """Blocking: the output's tail and the summary's brief, read in one trip off the loop."""
    layout = services.layout
    tail = read_tail(layout.output_log(gathering.id), services.settings.exec_output_tail_bytes)
    brief = summaries.load_brief(layout, gathering.id) if gathering.has_archive else None
    return tail, brief


async def _view(gathering: Gathering, services: Services) -> dict[str, Any]:
    return _view_of(gathering, await asyncio.to_thread(_files_of, gathering, services))


def _view_of(gathering: Gathering, files: tuple[str, dict[str, Any] | None]) -> dict[str, Any]:
    tail, brief = files
    view = render(gathering, exec_output=tail)
    if brief is not None:
        # After the old keys and the others: counts by severity, each image's product.
        view["summary"] = brief.get("counts")
        view["products"] = brief.get("products")
    return view


@router.post(
    "",
    status_code=201,
    openapi_extra={"requestBody": _REQUEST_SCHEMA},
    responses={201: {"model": GatheringView}, 400: {}, 413: {}},
    summary="Start a gathering",
)
async def create(request: Request, caller: CallerDep, services: ServicesDep) -> JSONResponse:
    """Queue a gathering and answer at once with its object (status `new`).

    Every key is optional; an empty body or `{}` runs the defaults. Unknown keys and
    read-only keys (`id`, `status`, `exec-output`, ...) are refused with 400.
    """
    fields = await bodies.read_fields(request)
    try:
        asked = GatheringRequest.model_validate(fields)
    except ValidationError as e:
        raise RequestValidationError(e.errors()) from e
    if asked.timeout:
        try:
            parameters.timeout(asked.timeout, max_timeout=services.settings.max_timeout)
        except ValueError as e:
            raise InvalidParameter("timeout", str(e)) from e
    defaults = request_defaults(services.settings)
    await privileges.check(
        asked,
        caller,
        settings=services.settings,
        authenticator=services.authenticator,
        default_image=defaults.image,
    )
    await quotas.check_new_gathering(caller, settings=services.settings, store=services.store)
    options = asked.to_options(defaults)
    held = services.runner.queue_lease
    gathering = await services.store.create(
        options,
        requested_by=caller.user,
        held_by=held.holder if held else None,
        held_until=held.until() if held else None,
    )
    services.metrics.created.inc()
    credentials = Credentials(token=caller.token, user=caller.user) if caller.token else None
    services.runner.submit(gathering, credentials=credentials)
    return JSONResponse(render(gathering, exec_output=""), status_code=201)


# 400, not FastAPI's 422: problems.py answers every validation failure with a 400 problem.
@router.get("", responses={200: {"model": list[GatheringView]}, 400: {}}, summary="List gatherings")
async def list_all(
    caller: CallerDep,
    services: ServicesDep,
    status: Annotated[Status | None, Query(description="Only gatherings in this status.")] = None,
    custom_name: Annotated[
        str | None, Query(alias="custom-name", description="Only gatherings with this name.")
    ] = None,
    limit: Annotated[int | None, Query(ge=1, le=10000, description="At most this many.")] = None,
    # Bounded by the databases' 64-bit integers: a larger offset made the query fail (500).
    offset: Annotated[int, Query(ge=0, le=2**63 - 1, description="Skip this many first.")] = 0,
    order: Annotated[
        Literal["asc", "desc"],
        Query(description="`asc`: ascending id, oldest first (the default); `desc`: newest first."),
    ] = "asc",
) -> JSONResponse:
    """All gatherings in ascending id order (`order=desc`: newest first). Each carries only
    the last 1 KiB of its `exec-output`, so the list stays cheap to poll; fetch one
    gathering for more."""
    owner = owner_filter(caller, services)
    found = await services.store.find_all(
        status=status,
        custom_name=custom_name,
        requested_by=owner,
        limit=limit,
        offset=offset,
        newest_first=order == "desc",
    )
    tails = await services.tails.of(found)
    return JSONResponse([render(g, exec_output=t) for g, t in zip(found, tails, strict=True)])


@router.get("/{reference}", responses=_ONE, summary="One gathering, by id or custom-name")
async def get_one(reference: str, caller: CallerDep, services: ServicesDep) -> JSONResponse:
    """By numeric id first, then the newest gathering with this custom-name."""
    # The lookup and the files in one trip off the loop: under load each crossing to a
    # thread and back cost a few milliseconds of the p99.
    gathering, files = await find_visible_then(
        reference, caller, services, functools.partial(_files_of, services=services)
    )
    return JSONResponse(_view_of(gathering, files))


@router.get(
    "/{reference}/data",
    responses={200: {"content": {"application/gzip": {}}}, 206: {}, 404: {}},
    summary="Download the archive",
)
@router.head("/{reference}/data", include_in_schema=False)
async def download(
    reference: str, request: Request, caller: CallerDep, services: ServicesDep
) -> Response:
    """The archive, once the gathering has ended and an archive exists. Supports Range."""
    gathering = await _find(reference, caller, services)
    path = await archive_of(gathering, services)
    response = archive_response(
        path,
        name=gathering.archive_name,
        data_dir=services.layout.data_dir,
        accel_prefix=services.settings.accel_redirect_prefix,
    )
    if request.method == "GET" and not request.headers.get("range"):
        services.metrics.bytes_served.inc(gathering.archive_size)
    return response


@router.get(
    "/{reference}/logs",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}, 400: {}, 404: {}},
    summary="The whole output of a gathering",
)
async def logs(
    reference: str,
    caller: CallerDep,
    services: ServicesDep,
    follow: Annotated[
        bool, Query(description="Stream new lines until the gathering ends.")
    ] = False,
) -> Response:
    gathering = await _find(reference, caller, services)
    release = services.follows.acquire(caller.user) if follow else None
    return StreamingResponse(
        _stream_output(gathering, services, follow=follow, release=release),
        media_type="text/plain; charset=utf-8",
    )


async def _stream_output(
    gathering: Gathering,
    services: Services,
    *,
    follow: bool,
    release: Callable[[], None] | None = None,
) -> AsyncIterator[bytes]:
    try:
        async for chunk in _output_chunks(gathering, services, follow=follow):
            yield chunk
    finally:
        if release is not None:
            release()


async def _output_chunks(
    gathering: Gathering, services: Services, *, follow: bool
) -> AsyncIterator[bytes]:
    path = services.layout.output_log(gathering.id)
    offset = 0
    while True:
        chunk = await asyncio.to_thread(read_from, path, offset)
        if chunk:
            offset += len(chunk)
            yield chunk
            continue
        if not follow:
            return
        output = services.runner.output_of(gathering.id)
        if output is None:
            current = await services.store.get(gathering.id)
            if current.status.finished:
                if not await asyncio.to_thread(read_from, path, offset):
                    return
                continue
            # Queued, or running on another replica: look again shortly.
            await asyncio.sleep(_FOLLOW_WAIT_SECONDS / 5)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(output.changed(), _FOLLOW_WAIT_SECONDS)


@router.delete(
    "/{reference}",
    responses={200: {"model": GatheringView}, 204: {}, 404: {}},
    summary="Cancel a gathering, or remove a finished one",
)
async def remove(reference: str, caller: CallerDep, services: ServicesDep) -> Response:
    """A queued or running gathering is cancelled (it ends `error`, reason `cancelled`, and
    is returned); a finished one is removed with its files (204)."""
    gathering = await _find(reference, caller, services)
    if not gathering.status.finished:
        cancelled = await services.runner.cancel(gathering)
        return JSONResponse(await _view(cancelled, services))
    await services.store.delete(gathering.id)
    await asyncio.to_thread(services.layout.remove, gathering.id)
    return Response(status_code=204)
