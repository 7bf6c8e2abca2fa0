"""`GET /must-gather/{reference}/summary`: the findings over a gathering's archive.

Computed when the archive was made (``gatherings.finishing``); an archive made before
analysis existed is analyzed now, once, off the event loop. Same authentication and
scoping as `/data`.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from must_gather_api.api.deps import CallerDep, ServicesDep
from must_gather_api.api.scoping import archive_of, find_visible
from must_gather_api.archive import background, index
from must_gather_api.errors import ArchiveNotAvailable
from must_gather_api.gatherings import summaries
from must_gather_api.gatherings.store import now

router = APIRouter(prefix="/must-gather", tags=["archive contents"])


@router.get(
    "/{reference}/summary",
    responses={200: {"content": {"application/json": {}}}, 400: {}, 404: {}},
    summary="What is wrong in the gathered cluster: findings over the archive",
)
async def summary(reference: str, caller: CallerDep, services: ServicesDep) -> JSONResponse:
    """`counts` by severity, `products` (each image's `version` file) and `findings`:
    severity, area, object, reason, a one-line message and the archive paths it came from
    (`/files/{path}`), errors first."""
    gathering = await find_visible(reference, caller, services)
    await archive_of(gathering, services)
    found = await asyncio.to_thread(summaries.load, services.layout, gathering.id)
    if found is None:
        try:
            found = await background.run(
                summaries.compute, services.layout, gathering.id, gathering.finished_at or now()
            )
        except index.IndexUnreadable as e:
            raise ArchiveNotAvailable(
                f"the archive of gathering {gathering.id} cannot be analyzed: it is not a "
                "readable tar.gz"
            ) from e
    return JSONResponse(found.to_json())
