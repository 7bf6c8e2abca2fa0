from __future__ import annotations

from must_gather_api.analysis import nodes
from must_gather_api.analysis.model import Severity
from support.archives import condition, files

PATH = "cluster-scoped-resources/core/nodes"


def node(name: str, *conditions: dict[str, str]) -> dict[str, object]:
    return {"kind": "Node", "metadata": {"name": name}, "status": {"conditions": list(conditions)}}


def test_not_ready_and_pressure() -> None:
    found = nodes.analyze(
        files(
            {
                f"{PATH}/a.yaml": node("a", condition("Ready", "True")),
                f"{PATH}/b.yaml": node(
                    "b", condition("Ready", "Unknown", "stopped", "NodeStatusUnknown")
                ),
                f"{PATH}/c.yaml": node(
                    "c", condition("Ready", "True"), condition("DiskPressure", "True", "disk full")
                ),
            }
        )
    )
    assert [(f.object, f.reason, f.severity) for f in found] == [
        ("Node/b", "NotReady", Severity.ERROR),
        ("Node/c", "DiskPressure", Severity.WARNING),
    ]
    assert "NodeStatusUnknown: stopped" in found[0].message
