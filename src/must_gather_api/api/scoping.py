"""Which gathering a reference names for this caller, and whether its archive can be read.

Shared by every route under ``/must-gather/{reference}``: a gathering the caller may not
see (LIST_SCOPE=own) is reported exactly as one that does not exist.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from must_gather_api.api.deps import Services
from must_gather_api.auth.base import Caller
from must_gather_api.errors import ArchiveNotAvailable
from must_gather_api.gatherings.records import Gathering
from must_gather_api.settings import ListScope

T = TypeVar("T")


def owner_filter(caller: Caller, services: Services) -> str | None:
    """With LIST_SCOPE=own, the user whose gatherings alone this caller may see."""
    own_only = services.settings.list_scope is ListScope.OWN and not caller.is_admin
    return caller.user if own_only else None


async def find_visible(reference: str, caller: Caller, services: Services) -> Gathering:
    # Others' gatherings are looked past, not found and hidden: a custom-name then means the
    # caller's own newest, and "not yours" reads exactly as "does not exist".
    return await services.store.find(reference, requested_by=owner_filter(caller, services))


async def find_visible_then(
    reference: str, caller: Caller, services: Services, then: Callable[[Gathering], T]
) -> tuple[Gathering, T]:
    """``find_visible``, and ``then`` of the gathering (blocking: reading its files) in the
    lookup's own trip off the event loop where the store allows it."""
    return await services.store.find_then(
        reference, then, requested_by=owner_filter(caller, services)
    )


async def archive_of(gathering: Gathering, services: Services) -> Path:
    """The path of the gathering's archive; ``ArchiveNotAvailable`` (404) saying why not."""
    path = services.layout.archive(gathering.id)
    if not gathering.has_archive or not await asyncio.to_thread(path.is_file):
        raise ArchiveNotAvailable(why_no_archive(gathering))
    return path


def why_no_archive(gathering: Gathering) -> str:
    if not gathering.status.finished:
        return f"gathering {gathering.id} is {gathering.status.value}; its archive is not ready"
    if gathering.archive_removed:
        return f"the archive of gathering {gathering.id} was {gathering.archive_removed}"
    return f"gathering {gathering.id} has no archive ({gathering.error_reason or 'no data'})"
