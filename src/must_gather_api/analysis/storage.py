"""PersistentVolumeClaims that stay Pending (nothing provisions or binds them)."""

from __future__ import annotations

import re

from must_gather_api.analysis.model import Finding, Severity
from must_gather_api.analysis.source import ArchiveFiles, name_of, status

AREA = "storage"
PATHS = re.compile(
    r"(^|/)namespaces/[^/]+/(core/persistentvolumeclaims\.yaml"
    r"|core/persistentvolumeclaims/[^/]+\.yaml)$"
)


def analyze(files: ArchiveFiles) -> list[Finding]:
    findings = []
    for path, claim in files.objects(PATHS, "PersistentVolumeClaim"):
        if status(claim).get("phase") == "Pending":
            spec = claim.get("spec") or {}
            storage_class = spec.get("storageClassName") or "the default storage class"
            findings.append(
                Finding(
                    Severity.WARNING,
                    AREA,
                    name_of("PersistentVolumeClaim", claim),
                    "Pending",
                    f"Pending: not bound (storage class {storage_class})",
                    (path,),
                )
            )
    return findings
