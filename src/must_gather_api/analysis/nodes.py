"""Nodes that are NotReady or under memory, disk or PID pressure."""

from __future__ import annotations

import re

from must_gather_api.analysis.model import Finding, Severity
from must_gather_api.analysis.source import ArchiveFiles, conditions, name_of, one_line

AREA = "nodes"
PATHS = re.compile(r"(^|/)cluster-scoped-resources/core/nodes/[^/]+\.yaml$")
PRESSURES = ("MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")


def analyze(files: ArchiveFiles) -> list[Finding]:
    findings = []
    for path, node in files.objects(PATHS, "Node"):
        found = conditions(node)
        name = name_of("Node", node)
        ready = found.get("Ready", {})
        if ready.get("status") != "True":
            why = one_line(
                f"{ready.get('reason', '')}: {ready.get('message', '')}"
                if ready
                else "no Ready condition"
            )
            findings.append(
                Finding(Severity.ERROR, AREA, name, "NotReady", f"NotReady ({why})", (path,))
            )
        for pressure in PRESSURES:
            condition = found.get(pressure, {})
            if condition.get("status") == "True":
                message = one_line(condition.get("message") or condition.get("reason"))
                findings.append(
                    Finding(
                        Severity.WARNING, AREA, name, pressure, f"{pressure}: {message}", (path,)
                    )
                )
    return findings
