from __future__ import annotations

from typing import Any

from must_gather_api.analysis import events
from must_gather_api.analysis.source import ArchiveFiles
from support.archives import dump


def event(
    uid: str, reason: str, name: str, count: int, when: str, type_: str = "Warning"
) -> dict[str, Any]:
    return {
        "metadata": {"uid": uid, "namespace": "app", "name": f"{name}.{uid}"},
        "type": type_,
        "reason": reason,
        "count": count,
        "lastTimestamp": when,
        "message": f"{reason} at {when}",
        "involvedObject": {"kind": "Pod", "namespace": "app", "name": name},
    }


def test_warnings_grouped_by_reason_and_object_each_event_counted_once() -> None:
    items = [
        event("1", "BackOff", "web", 3, "2026-06-01T10:00:00Z"),
        event("2", "BackOff", "web", 2, "2026-06-01T11:00:00Z"),
        event("3", "Unhealthy", "web", 1, "2026-06-01T09:00:00Z"),
        event("4", "Started", "web", 1, "2026-06-01T09:00:00Z", type_="Normal"),
    ]
    text = dump({"kind": "EventList", "items": items})
    # Two images dumped the same namespace: the same events, twice.
    found = events.analyze(
        ArchiveFiles.from_contents(
            {
                "mg/a/namespaces/app/core/events.yaml": text,
                "mg/b/namespaces/app/core/events.yaml": text,
            }
        )
    )
    by_reason = {f.reason: f for f in found}
    assert set(by_reason) == {"BackOff", "Unhealthy"}
    assert by_reason["BackOff"].message == "BackOff (5 times): BackOff at 2026-06-01T11:00:00Z"
    assert by_reason["BackOff"].object == "Pod/app/web"
    assert by_reason["BackOff"].evidence == (
        "mg/a/namespaces/app/core/events.yaml",
        "mg/b/namespaces/app/core/events.yaml",
    )
