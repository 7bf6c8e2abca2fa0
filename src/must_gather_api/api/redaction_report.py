"""What redaction replaced, and the un-redacted original: for the admin permission only.

`GET /must-gather/{reference}/redaction-report` is must-gather-clean's ``report.yaml``: it
maps every replacement back to the real value, so it is as sensitive as the original
archive. `GET /must-gather/{reference}/original` serves the un-redacted archive a request
kept with ``keep-original``. Callers without the admin permission get 403 for a gathering
they can see, and 404, as everywhere, for one they cannot.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import APIRouter, Response

from must_gather_api.api.deps import CallerDep, Services, ServicesDep
from must_gather_api.api.downloads import archive_response
from must_gather_api.api.scoping import archive_of, find_visible
from must_gather_api.auth.base import Caller
from must_gather_api.errors import ArchiveNotAvailable, Forbidden
from must_gather_api.gatherings.records import Gathering

router = APIRouter(prefix="/must-gather", tags=["archive contents"])

_ADMINS_ONLY = (
    "it maps every replacement back to the real value; only callers with the admin "
    "permission (AUTH_ADMIN_*) may read it"
)


async def _private_file(
    reference: str, caller: Caller, services: Services, *, what: str, kept: str
) -> tuple[Gathering, Path]:
    """The gathering's file ``kept`` (``redaction-report`` or ``original``), for admins."""
    gathering = await find_visible(reference, caller, services)
    if not caller.is_admin:
        raise Forbidden(f"{what}: {_ADMINS_ONLY}")
    await archive_of(gathering, services)
    options = gathering.request
    if kept == "redaction-report":
        path, exists = services.layout.redaction_report(gathering.id), options.redact
    else:
        path, exists = services.layout.original_archive(gathering.id), options.keep_original
    if not exists or not await asyncio.to_thread(path.is_file):
        raise ArchiveNotAvailable(f"gathering {gathering.id} has no {what}")
    return gathering, path


@router.get(
    "/{reference}/redaction-report",
    responses={200: {"content": {"application/yaml": {}}}, 403: {}, 404: {}},
    summary="What redaction replaced (admin permission only)",
)
async def redaction_report(reference: str, caller: CallerDep, services: ServicesDep) -> Response:
    """must-gather-clean's `report.yaml`: `replacements` (one list per obfuscate rule, with
    the count of each original spelling), `omissions` and the `config` used, which read
    back as a configuration reproduces the same replacements."""
    _, path = await _private_file(
        reference, caller, services, what="redaction report", kept="redaction-report"
    )
    content = await asyncio.to_thread(path.read_bytes)
    return Response(content, media_type="application/yaml")


@router.get(
    "/{reference}/original",
    responses={200: {"content": {"application/gzip": {}}}, 206: {}, 403: {}, 404: {}},
    summary="The un-redacted archive kept with keep-original (admin permission only)",
)
async def original(reference: str, caller: CallerDep, services: ServicesDep) -> Response:
    gathering, path = await _private_file(
        reference, caller, services, what="un-redacted archive", kept="original"
    )
    return archive_response(
        path,
        name=gathering.archive_name,
        data_dir=services.layout.data_dir,
        accel_prefix=services.settings.accel_redirect_prefix,
    )
