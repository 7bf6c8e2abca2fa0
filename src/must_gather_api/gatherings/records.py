"""What the service knows about one gathering: its request, its state, its result.

The request is a ``GatheringOptions``; the store keeps its text form.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from must_gather_api.parameters import GatheringOptions


class Status(StrEnum):
    """The old service's four states. `new` now means queued; `inprogress`, running."""

    NEW = "new"
    INPROGRESS = "inprogress"
    COMPLETED = "completed"
    ERROR = "error"

    @property
    def finished(self) -> bool:
        return self in (Status.COMPLETED, Status.ERROR)


@dataclass(frozen=True)
class Gathering:
    id: int
    created_at: datetime
    updated_at: datetime
    status: Status
    request: GatheringOptions
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error_reason: str = ""
    archive_size: int = 0
    archive_name: str = ""
    archive_sha256: str = ""
    archive_removed: str = ""
    requested_by: str = ""
    claimed_by: str = ""  # the replica that runs it (or last ran it)
    lease_until: datetime | None = None

    @property
    def has_archive(self) -> bool:
        return self.status.finished and bool(self.archive_sha256) and not self.archive_removed

    def replace(self, **changes: Any) -> Gathering:
        return dataclasses.replace(self, **changes)


REQUEST_COLUMNS = (
    "custom_name",
    "image",
    "image_stream",
    "node_name",
    "command",
    "source_dir",
    "timeout",
    "server",
)
"""The old service's eight parameters: a text column each (``custom_name`` is indexed)."""


def stored_request(request: GatheringOptions) -> tuple[dict[str, str], dict[str, Any]]:
    """The request as the store keeps it: the eight text columns, and the parameters added
    since as one JSON object of those that were given (so adding one needs no migration)."""
    fields = request.to_fields()
    return {name: fields[name] for name in REQUEST_COLUMNS}, request.newer_fields()


def loaded_request(
    columns: dict[str, str | None], options: dict[str, Any] | None
) -> GatheringOptions:
    """The request back from its columns and JSON object, as any earlier version wrote them."""
    fields: dict[str, Any] = dict(options or {})
    fields.update({name: columns.get(name) or "" for name in REQUEST_COLUMNS})
    return GatheringOptions.parse(fields)
