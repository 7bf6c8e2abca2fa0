"""Server-side printing: the meta.k8s.io/v1 Table that ``kubectl get`` asks for."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from kubesim import kinds
from kubesim.kinds import Kind

Column = tuple[str, str, int]  # name, type, priority (1 = only with -o wide)

_NAME: Column = ("Name", "string", 0)
_AGE: Column = ("Age", "string", 0)


def wants_table(accept: str) -> bool:
    return "as=Table" in accept.replace(" ", "")


def human_age(timestamp: str | None, *, now: datetime | None = None) -> str:
    """Ages as kubectl shows them: 45s, 5m3s, 45m, 3h5m, 20h, 3d5h, 30d, 2y."""
    if not timestamp:
        return "<unknown>"
    try:
        then = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "<unknown>"
    seconds = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y"


def _terminated_reason(term: dict[str, Any]) -> str:
    if term.get("reason"):
        return str(term["reason"])
    if term.get("signal"):
        return f"Signal:{term['signal']}"
    return f"ExitCode:{term.get('exitCode', 0)}"


def _condition_true(status: dict[str, Any], kind: str) -> bool:
    return any(
        c.get("type") == kind and c.get("status") == "True" for c in status.get("conditions") or []
    )


def _init_reason(pod: dict[str, Any], status: dict[str, Any]) -> str | None:
    """``Init:...`` while an init container has not succeeded yet, else None."""
    total = len((pod.get("spec") or {}).get("initContainers") or [])
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        state = cs.get("state") or {}
        term = state.get("terminated")
        if term is not None and term.get("exitCode") == 0:
            continue
        if term is not None:
            return f"Init:{_terminated_reason(term)}"
        waiting = (state.get("waiting") or {}).get("reason")
        if waiting and waiting != "PodInitializing":
            return f"Init:{waiting}"
        return f"Init:{i}/{total}"
    return None


def _pod_status(pod: dict[str, Any]) -> str:
    """The STATUS column as kubectl's printer works it out (printPod in
    k8s.io/kubernetes/pkg/printers/internalversion/printers.go): the first container's state
    wins, and a pod whose finished container sits beside a running one is NotReady (or
    Running once the pod is Ready), not Completed."""
    status = pod.get("status") or {}
    reason = str(status.get("reason") or status.get("phase") or "Unknown")
    init = _init_reason(pod, status)
    if init is not None:
        reason = init
    if init is None or _condition_true(status, "Initialized"):
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            state = cs.get("state") or {}
            waiting = (state.get("waiting") or {}).get("reason")
            if waiting:
                reason = str(waiting)
            elif "terminated" in state:
                reason = _terminated_reason(state["terminated"])
            elif cs.get("ready") and "running" in state:
                has_running = True
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(status, "Ready") else "NotReady"
    if pod["metadata"].get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            return "Unknown"
        if status.get("phase") not in ("Succeeded", "Failed"):
            return "Terminating"
    return reason


def _pod_cells(pod: dict[str, Any]) -> list[Any]:
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    total = len((pod.get("spec") or {}).get("containers") or [])
    ready = sum(1 for cs in statuses if cs.get("ready"))
    restarts = sum(int(cs.get("restartCount", 0)) for cs in statuses)
    return [
        f"{ready}/{total}",
        _pod_status(pod),
        restarts,
        human_age(pod["metadata"].get("creationTimestamp")),
        status.get("podIP") or "<none>",
        (pod.get("spec") or {}).get("nodeName") or "<none>",
    ]


def _node_cells(node: dict[str, Any]) -> list[Any]:
    conditions = (node.get("status") or {}).get("conditions") or []
    ready: dict[str, Any] = next((c for c in conditions if c.get("type") == "Ready"), {})
    status = "Ready" if ready.get("status") == "True" else "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    prefix = "node-role.kubernetes.io/"
    roles = sorted(
        k.removeprefix(prefix) for k in node["metadata"].get("labels") or {} if k.startswith(prefix)
    )
    info = (node.get("status") or {}).get("nodeInfo") or {}
    return [
        status,
        ",".join(roles) or "<none>",
        human_age(node["metadata"].get("creationTimestamp")),
        info.get("kubeletVersion", ""),
    ]


def _event_cells(event: dict[str, Any]) -> list[Any]:
    involved = event.get("involvedObject") or {}
    last = (
        event.get("lastTimestamp")
        or event.get("eventTime")
        or event["metadata"].get("creationTimestamp")
    )
    return [
        human_age(last),
        event.get("type", ""),
        event.get("reason", ""),
        f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
        event.get("message", ""),
    ]


_COLUMNS: dict[Kind, list[Column]] = {
    kinds.PODS: [
        _NAME,
        ("Ready", "string", 0),
        ("Status", "string", 0),
        ("Restarts", "string", 0),
        _AGE,
        ("IP", "string", 1),
        ("Node", "string", 1),
    ],
    kinds.NODES: [
        _NAME,
        ("Status", "string", 0),
        ("Roles", "string", 0),
        _AGE,
        ("Version", "string", 0),
    ],
    kinds.NAMESPACES: [_NAME, ("Status", "string", 0), _AGE],
    kinds.EVENTS: [
        ("Last Seen", "string", 0),
        ("Type", "string", 0),
        ("Reason", "string", 0),
        ("Object", "string", 0),
        ("Message", "string", 0),
    ],
}


def _cells(kind: Kind, obj: dict[str, Any]) -> list[Any]:
    name = obj["metadata"].get("name", "")
    if kind == kinds.PODS:
        return [name, *_pod_cells(obj)]
    if kind == kinds.NODES:
        return [name, *_node_cells(obj)]
    if kind == kinds.NAMESPACES:
        phase = (obj.get("status") or {}).get("phase", "Active")
        return [name, phase, human_age(obj["metadata"].get("creationTimestamp"))]
    if kind == kinds.EVENTS:
        return _event_cells(obj)
    return [name, human_age(obj["metadata"].get("creationTimestamp"))]


def _row_object(obj: dict[str, Any], include: str) -> dict[str, Any] | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"],
    }


def table(
    kind: Kind, objects: list[dict[str, Any]], *, resource_version: str, request: web.Request
) -> dict[str, Any]:
    include = request.query.get("includeObject", "Metadata")
    columns = _COLUMNS.get(kind, [_NAME, _AGE])
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": _cells(kind, obj)}
        row_object = _row_object(obj, include)
        if row_object is not None:
            row["object"] = row_object
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [
            {
                "name": name,
                "type": type_,
                "format": "name" if name == "Name" else "",
                "description": "",
                "priority": priority,
            }
            for name, type_, priority in columns
        ],
        "rows": rows,
    }
