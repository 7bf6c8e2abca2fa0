"""What analysis finds: findings with a severity, and the summary of an archive.

A finding names one object, says in one line what is wrong with it, and lists the
archive paths it was read from (``evidence``), so `/files/{path}` shows the proof.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

FORMAT = 1


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    area: str  # the analyzer that found it: "operators", "pods", ...
    object: str  # kind/namespace/name, or kind/name for cluster-scoped objects
    reason: str  # short and stable: "Degraded", "NotReady", "CrashLoopBackOff", ...
    message: str
    evidence: tuple[str, ...] = ()
    details: tuple[str, ...] = ()  # e.g. the last lines of a log

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.area, self.object, self.reason)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "severity": self.severity.value,
            "area": self.area,
            "object": self.object,
            "reason": self.reason,
            "message": self.message,
            "evidence": list(self.evidence),
        }
        if self.details:
            body["details"] = list(self.details)
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Finding:
        return cls(
            severity=Severity(body["severity"]),
            area=str(body["area"]),
            object=str(body["object"]),
            reason=str(body.get("reason", "")),
            message=str(body["message"]),
            evidence=tuple(body.get("evidence") or ()),
            details=tuple(body.get("details") or ()),
        )


@dataclass(frozen=True)
class Product:
    """What one image wrote in its `version` file (the must-gather contract's first two lines)."""

    product: str
    version: str
    path: str


@dataclass(frozen=True)
class Summary:
    products: tuple[Product, ...] = ()
    findings: tuple[Finding, ...] = ()
    analyzed_at: str = ""
    errors: tuple[str, ...] = field(default=())  # analyzers that could not finish

    def counts(self) -> dict[str, int]:
        counted = {severity.value: 0 for severity in Severity}
        for finding in self.findings:
            counted[finding.severity.value] += 1
        return counted

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "analyzed-at": self.analyzed_at,
            "counts": self.counts(),
            "products": [
                {"product": p.product, "version": p.version, "path": p.path} for p in self.products
            ],
            "findings": [finding.to_json() for finding in self.findings],
            "analyzer-errors": list(self.errors),
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Summary:
        return cls(
            products=tuple(
                Product(str(p["product"]), str(p["version"]), str(p["path"]))
                for p in body.get("products") or []
            ),
            findings=tuple(Finding.from_json(f) for f in body.get("findings") or []),
            analyzed_at=str(body.get("analyzed-at", "")),
            errors=tuple(body.get("analyzer-errors") or ()),
        )


_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def merged(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """One finding per (area, object, reason): the same object dumped by two images (or as
    a list and as a file) is one finding with the evidence of both. Errors first."""
    by_key: dict[tuple[str, str, str], Finding] = {}
    for finding in findings:
        known = by_key.get(finding.key)
        if known is None:
            by_key[finding.key] = finding
            continue
        evidence = known.evidence + tuple(p for p in finding.evidence if p not in known.evidence)
        by_key[finding.key] = Finding(
            known.severity,
            known.area,
            known.object,
            known.reason,
            known.message,
            evidence,
            known.details or finding.details,
        )
    return tuple(sorted(by_key.values(), key=lambda f: (_ORDER[f.severity], f.area, f.object)))
