"""Which pods an earlier process left can a restarted service still follow and copy."""

from __future__ import annotations

from typing import Any

import pytest

from must_gather_api.executors.kubernetes.recovery import resumable


def pod(phase: str, copy_state: str | None, *, deleting: bool = False) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if copy_state is not None:
        status["containerStatuses"] = [
            {"name": "gather", "state": {"terminated": {"exitCode": 0}}},
            {"name": "copy", "state": {copy_state: {}}},
        ]
    metadata: dict[str, Any] = {"name": "must-gather-x"}
    if deleting:
        metadata["deletionTimestamp"] = "2026-12-04T12:00:00Z"
    return {"metadata": metadata, "status": status}


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        (pod("Running", "running"), True),
        # Killed just after creating the pod: it has not started yet, and will.
        (pod("Pending", None), True),
        (pod("Pending", "waiting"), True),
        ({"metadata": {"name": "must-gather-x"}}, True),
        (pod("Running", "terminated"), False),
        (pod("Succeeded", "terminated"), False),
        (pod("Failed", None), False),
        (pod("Running", "running", deleting=True), False),
    ],
)
def test_a_pod_is_resumable_until_its_copy_container_ends(
    shape: dict[str, Any], expected: bool
) -> None:
    assert resumable(shape) is expected
