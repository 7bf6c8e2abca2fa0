"""Pods whose containers crash-loop, cannot pull their image or were OOM-killed, and pods
Pending for long; with restart counts and the last lines of their logs.

Pods come from `namespaces/<ns>/core/pods.yaml` and `namespaces/<ns>/pods/<pod>/<pod>.yaml`
(``oc adm inspect``); logs from `pods/<pod>/<container>/<container>/logs/*.log` (inspect)
or `logs/<pod>/*.log` (the Forklift image's layout).
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from must_gather_api.analysis.model import Finding, Severity
from must_gather_api.analysis.source import ArchiveFiles, meta, name_of, one_line, status

AREA = "pods"
PATHS = re.compile(r"(^|/)namespaces/[^/]+/(core/pods\.yaml|pods/([^/]+)/\3\.yaml)$")
LOGS = re.compile(
    r"(^|/)namespaces/(?P<ns>[^/]+)/(pods/(?P<pod>[^/]+)/(?P<container>[^/]+)/(?P=container)/logs"
    r"|logs/(?P<fpod>[^/]+))/(?P<which>current|previous)\.log$"
)
PULL_FAILURES = {"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull"}
LONG_PENDING = timedelta(minutes=15)
LAST_LINES = 5


def _logs(files: ArchiveFiles) -> dict[tuple[str, str], list[tuple[str, str, str]]]:
    """(namespace, pod) -> [(container or "", current|previous, path)]."""
    found: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for path in files.matching(LOGS):
        match = LOGS.search(path)
        assert match is not None
        pod = match["pod"] or match["fpod"]
        found[(match["ns"], pod)].append((match["container"] or "", match["which"], path))
    return found


def _last_lines(
    files: ArchiveFiles, logs: list[tuple[str, str, str]], container: str
) -> tuple[list[str], tuple[str, ...]]:
    """The last lines of the container's previous log (else current), and the log paths."""
    mine = [entry for entry in logs if entry[0] in (container, "")]
    paths = tuple(path for _c, _w, path in mine)
    for which in ("previous", "current"):
        for _c, w, path in mine:
            if w == which:
                lines = [line for line in files.text(path).splitlines() if line.strip()]
                if lines:
                    return [one_line(line, 200) for line in lines[-LAST_LINES:]], paths
    return [], paths


def _problem(container: dict[str, Any]) -> tuple[str, str] | None:
    state = container.get("state") or {}
    last = (container.get("lastState") or {}).get("terminated") or {}
    waiting = state.get("waiting") or {}
    terminated = state.get("terminated") or {}
    reason = str(waiting.get("reason", ""))
    if reason == "CrashLoopBackOff":
        code = last.get("exitCode")
        return reason, f"last exit code {code}" if code is not None else "crashing"
    if reason in PULL_FAILURES:
        return "ImagePullBackOff", one_line(waiting.get("message") or reason, 160)
    if reason in ("CreateContainerConfigError", "CreateContainerError"):
        return reason, one_line(waiting.get("message") or reason, 160)
    if "OOMKilled" in (last.get("reason"), terminated.get("reason")):
        return "OOMKilled", "killed for using more memory than its limit"
    return None


def _created(pod: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(meta(pod).get("creationTimestamp", "")))
    except ValueError:
        return None


def analyze(files: ArchiveFiles, now: datetime) -> list[Finding]:
    logs = _logs(files)
    findings = []
    for path, pod in files.objects(PATHS, "Pod"):
        ns, pod_name = str(meta(pod).get("namespace", "")), str(meta(pod).get("name", ""))
        name = name_of("Pod", pod)
        pod_logs = logs.get((ns, pod_name), [])
        statuses = [
            c
            for key in ("initContainerStatuses", "containerStatuses")
            for c in status(pod).get(key) or []
            if isinstance(c, dict)
        ]
        troubled = False
        for container in statuses:
            problem = _problem(container)
            if problem is None:
                continue
            troubled = True
            reason, why = problem
            cname = str(container.get("name", "?"))
            restarts = int(container.get("restartCount") or 0)
            lines, log_paths = _last_lines(files, pod_logs, cname)
            findings.append(
                Finding(
                    Severity.ERROR,
                    AREA,
                    name,
                    reason,
                    f"container {cname}: {reason}, {restarts} restarts ({why})",
                    (path, *log_paths),
                    tuple(lines),
                )
            )
        created = _created(pod)
        pending_for = now - created if created else None
        if (
            not troubled
            and status(pod).get("phase") == "Pending"
            and pending_for is not None
            and pending_for > LONG_PENDING
        ):
            minutes = int(pending_for.total_seconds() // 60)
            findings.append(
                Finding(
                    Severity.WARNING,
                    AREA,
                    name,
                    "Pending",
                    f"Pending for {minutes} minutes when gathered",
                    (path,),
                )
            )
    return findings
