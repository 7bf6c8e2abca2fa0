"""What the service knows about one gathering: its request, its state, its result."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


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
class Request:
    """The parameters a caller gave, validated, as they are shown back.

    The eight keys of the old service are strings (empty when not given); the options
    added since are kept together in ``options`` so that adding one needs no migration.
    """

    custom_name: str = ""
    image: str = ""
    image_stream: str = ""
    node_name: str = ""
    command: str = ""
    source_dir: str = ""
    timeout: str = ""
    server: str = ""
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Gathering:
    id: int
    created_at: datetime
    updated_at: datetime
    status: Status
    request: Request
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error_reason: str = ""
    archive_size: int = 0
    archive_name: str = ""
    archive_sha256: str = ""
    archive_removed: str = ""
    requested_by: str = ""

    @property
    def has_archive(self) -> bool:
        return self.status.finished and bool(self.archive_sha256) and not self.archive_removed

    def replace(self, **changes: Any) -> Gathering:
        return dataclasses.replace(self, **changes)
