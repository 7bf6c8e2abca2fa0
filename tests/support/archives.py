"""Building the files of a must-gather archive from objects, for analyzer tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import yaml

from must_gather_api.analysis.source import ArchiveFiles

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TOP = "must-gather/quay-io-openshift-origin-must-gather"


def dump(obj: Any) -> str:
    return yaml.safe_dump(obj)


def listed(kind: str, items: list[dict[str, Any]]) -> str:
    return dump({"apiVersion": "v1", "kind": f"{kind}List", "items": items})


def files(contents: dict[str, Any]) -> ArchiveFiles:
    """Paths relative to one image's directory; values are objects (dumped) or text."""
    return ArchiveFiles.from_contents(
        {
            f"{TOP}/{path}": value if isinstance(value, str | bytes) else dump(value)
            for path, value in contents.items()
        }
    )


def condition(type_: str, status: str, message: str = "", reason: str = "") -> dict[str, str]:
    return {"type": type_, "status": status, "message": message, "reason": reason}
