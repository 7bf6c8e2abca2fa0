"""ClusterVersion: the version and its history, and whether an update is failing or running."""

from __future__ import annotations

import re
from typing import Any

from must_gather_api.analysis.model import Finding, Severity
from must_gather_api.analysis.source import ArchiveFiles, conditions, one_line, status

AREA = "cluster-version"
PATHS = re.compile(
    r"(^|/)cluster-scoped-resources/config\.openshift\.io/clusterversions/[^/]+\.yaml$"
)


def _history(cv: dict[str, Any]) -> str:
    entries = [h for h in status(cv).get("history") or [] if isinstance(h, dict)]
    told = [f"{h.get('version', '?')} ({h.get('state', '?')})" for h in entries[:3]]
    more = f", {len(entries) - 3} earlier" if len(entries) > 3 else ""
    return ", ".join(told) + more if told else "no history"


def analyze(files: ArchiveFiles) -> list[Finding]:
    findings = []
    for path, cv in files.objects(PATHS, "ClusterVersion"):
        found = conditions(cv)
        desired = (status(cv).get("desired") or {}).get("version", "?")
        name = "ClusterVersion/version"
        findings.append(
            Finding(
                Severity.INFO,
                AREA,
                name,
                "Version",
                f"version {desired}; history: {_history(cv)}",
                (path,),
            )
        )
        failing = found.get("Failing", {})
        if failing.get("status") == "True":
            message = one_line(failing.get("message") or failing.get("reason"))
            findings.append(
                Finding(Severity.ERROR, AREA, name, "Failing", f"failing: {message}", (path,))
            )
        if found.get("Available", {}).get("status") == "False":
            message = one_line(found["Available"].get("message"))
            findings.append(
                Finding(
                    Severity.ERROR, AREA, name, "Unavailable", f"not available: {message}", (path,)
                )
            )
        progressing = found.get("Progressing", {})
        if progressing.get("status") == "True":
            message = one_line(progressing.get("message"))
            findings.append(
                Finding(
                    Severity.WARNING, AREA, name, "Progressing", f"updating: {message}", (path,)
                )
            )
    return findings
