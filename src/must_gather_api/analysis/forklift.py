"""Forklift (MTV) plans and migrations that failed, with the failing step and condition.

Plans and migrations are read wherever an image wrote them: the Forklift image's
`namespaces/<ns>/crs/plan/<name>.yaml` (targeted) or `crs/plans.forklift.konveyor.io/`
(gather), and `oc adm inspect`'s `forklift.konveyor.io/plans/`. A failed migration is
told with its plan (one finding, both as evidence) unless its plan is not in the archive.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from must_gather_api.analysis.model import Finding, Severity
from must_gather_api.analysis.source import (
    ArchiveFiles,
    conditions,
    meta,
    name_of,
    one_line,
    status,
)

AREA = "forklift"
PATHS = re.compile(
    r"(^|/)(plans?|migrations?)(\.forklift\.konveyor\.io)?/[^/]+\.yaml$"
    r"|(^|/)forklift\.konveyor\.io/(plans|migrations)(/[^/]+)?\.yaml$"
)


def _failed(obj: dict[str, Any]) -> dict[str, Any] | None:
    failed = conditions(obj).get("Failed")
    return failed if failed and failed.get("status") == "True" else None


def _failing_step(plan: dict[str, Any]) -> str:
    """`VM <name>: step <step>: <reason>` for the first VM that failed."""
    for vm in (status(plan).get("migration") or {}).get("vms") or []:
        if not isinstance(vm, dict):
            continue
        error = vm.get("error") or {}
        step = error.get("phase") or ""
        reasons = list(error.get("reasons") or [])
        for piece in vm.get("pipeline") or []:
            if isinstance(piece, dict) and (piece.get("error") or piece.get("phase") == "Failed"):
                step = step or piece.get("name", "")
                reasons = reasons or list((piece.get("error") or {}).get("reasons") or [])
        if error or step or vm.get("phase") == "Failed":
            why = one_line("; ".join(str(r) for r in reasons), 200) or "no reason given"
            return f"VM {vm.get('name') or vm.get('id', '?')}: step {step or '?'}: {why}"
    return ""


def analyze(files: ArchiveFiles) -> list[Finding]:
    plans: dict[tuple[str, str], Finding] = {}
    for path, plan in files.objects(PATHS, "Plan"):
        failed = _failed(plan)
        if failed is None:
            continue
        key = (str(meta(plan).get("namespace", "")), str(meta(plan).get("name", "")))
        step = _failing_step(plan)
        message = f"failed: {one_line(failed.get('message'), 160) or 'no message'}"
        if step:
            message += f" ({step})"
        known = plans.get(key)
        evidence = (known.evidence if known else ()) + (path,)
        plans[key] = Finding(
            Severity.ERROR, AREA, name_of("Plan", plan), "Failed", message, evidence
        )
    findings: list[Finding] = []
    for path, migration in files.objects(PATHS, "Migration"):
        failed = _failed(migration)
        if failed is None:
            continue
        ref = (migration.get("spec") or {}).get("plan") or {}
        key = (
            str(ref.get("namespace") or meta(migration).get("namespace", "")),
            str(ref.get("name", "")),
        )
        if key in plans:
            told = plans[key]
            if path not in told.evidence:
                plans[key] = replace(told, evidence=(*told.evidence, path))
            continue
        message = f"failed: {one_line(failed.get('message'), 200) or 'no message'}"
        findings.append(
            Finding(
                Severity.ERROR, AREA, name_of("Migration", migration), "Failed", message, (path,)
            )
        )
    return list(plans.values()) + findings
