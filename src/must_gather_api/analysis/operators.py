"""ClusterOperators that are not Available, or Degraded, with their condition messages."""

from __future__ import annotations

import re

from must_gather_api.analysis.model import Finding, Severity
from must_gather_api.analysis.source import ArchiveFiles, conditions, name_of, one_line

AREA = "operators"
PATHS = re.compile(
    r"(^|/)cluster-scoped-resources/config\.openshift\.io/clusteroperators/[^/]+\.yaml$"
)


def analyze(files: ArchiveFiles) -> list[Finding]:
    findings = []
    for path, operator in files.objects(PATHS, "ClusterOperator"):
        found = conditions(operator)
        name = name_of("ClusterOperator", operator)
        degraded = found.get("Degraded", {})
        if degraded.get("status") == "True":
            message = one_line(degraded.get("message") or degraded.get("reason"))
            findings.append(
                Finding(Severity.ERROR, AREA, name, "Degraded", f"degraded: {message}", (path,))
            )
        available = found.get("Available", {})
        if available.get("status") == "False":
            message = one_line(available.get("message") or available.get("reason"))
            findings.append(
                Finding(
                    Severity.ERROR, AREA, name, "Unavailable", f"not available: {message}", (path,)
                )
            )
    return findings
