"""Server-side tables (meta.k8s.io/v1 Table), so `kubectl get` prints its usual columns.

Pods, nodes, events and ClusterOperators get the columns kubectl users know; any other type
gets NAME and AGE, as kubectl shows for a type without its own columns. Ages are counted to
the time of the request, as an API server does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Row = list[Any]
Column = tuple[str, str, int]  # name, type, priority (1: only with -o wide)


def age(timestamp: object, now: datetime) -> str:
    try:
        then = datetime.fromisoformat(str(timestamp))
    except ValueError:
        return "<unknown>"
    seconds = max(0, int((now - then).total_seconds()))
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length:
            return f"{seconds // length}{unit}"
    return f"{seconds}s"


def _conditions(obj: dict[str, Any]) -> dict[str, str]:
    found = (obj.get("status") or {}).get("conditions") or []
    return {str(c.get("type")): str(c.get("status")) for c in found if isinstance(c, dict)}


def _pod(pod: dict[str, Any], now: datetime) -> Row:
    status = pod.get("status") or {}
    containers = status.get("containerStatuses") or []
    ready = sum(1 for c in containers if c.get("ready"))
    total = len((pod.get("spec") or {}).get("containers") or containers)
    reason = status.get("reason") or status.get("phase", "")
    for c in containers:
        state = c.get("state") or {}
        waiting, terminated = state.get("waiting"), state.get("terminated")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated and terminated.get("reason"):
            reason = terminated["reason"]
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Terminating"
    restarts = sum(int(c.get("restartCount") or 0) for c in containers)
    spec = pod.get("spec") or {}
    return [
        pod["metadata"]["name"],
        f"{ready}/{total}",
        reason,
        restarts,
        age(pod["metadata"].get("creationTimestamp"), now),
        status.get("podIP") or "<none>",
        spec.get("nodeName") or "<none>",
        "<none>",
        "<none>",
    ]


def _node(node: dict[str, Any], now: datetime) -> Row:
    meta, status = node["metadata"], node.get("status") or {}
    ready = _conditions(node).get("Ready")
    state = "Ready" if ready == "True" else "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    roles = sorted(
        key.split("/", 1)[1]
        for key in meta.get("labels") or {}
        if key.startswith("node-role.kubernetes.io/")
    )
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    info = status.get("nodeInfo") or {}
    return [
        meta["name"],
        state,
        ",".join(roles) or "<none>",
        age(meta.get("creationTimestamp"), now),
        info.get("kubeletVersion", ""),
        addresses.get("InternalIP") or "<none>",
        addresses.get("ExternalIP") or "<none>",
        info.get("osImage", ""),
        info.get("kernelVersion", ""),
        info.get("containerRuntimeVersion", ""),
    ]


def _operator(operator: dict[str, Any], now: datetime) -> Row:
    status = operator.get("status") or {}
    found = {c.get("type"): c for c in status.get("conditions") or [] if isinstance(c, dict)}
    versions = {v.get("name"): v.get("version") for v in status.get("versions") or []}
    since = max((str(c.get("lastTransitionTime", "")) for c in found.values()), default="")
    message = (found.get("Degraded") or {}).get("message") or (found.get("Available") or {}).get(
        "message", ""
    )
    return [
        operator["metadata"]["name"],
        versions.get("operator", ""),
        (found.get("Available") or {}).get("status", ""),
        (found.get("Progressing") or {}).get("status", ""),
        (found.get("Degraded") or {}).get("status", ""),
        age(since, now) if since else "",
        message,
    ]


def _event(event: dict[str, Any], now: datetime) -> Row:
    involved = event.get("involvedObject") or {}
    last = event.get("lastTimestamp") or event.get("eventTime") or ""
    return [
        age(last, now) if last else "<unknown>",
        event.get("type", ""),
        event.get("reason", ""),
        f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
        event.get("message", ""),
    ]


def _generic(obj: dict[str, Any], now: datetime) -> Row:
    return [obj["metadata"]["name"], age(obj["metadata"].get("creationTimestamp"), now)]


_KINDS: dict[str, tuple[list[Column], Callable[[dict[str, Any], datetime], Row]]] = {
    "Pod": (
        [
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "integer", 0),
            ("Age", "string", 0),
            ("IP", "string", 1),
            ("Node", "string", 1),
            ("Nominated Node", "string", 1),
            ("Readiness Gates", "string", 1),
        ],
        _pod,
    ),
    "Node": (
        [
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Roles", "string", 0),
            ("Age", "string", 0),
            ("Version", "string", 0),
            ("Internal-IP", "string", 1),
            ("External-IP", "string", 1),
            ("OS-Image", "string", 1),
            ("Kernel-Version", "string", 1),
            ("Container-Runtime", "string", 1),
        ],
        _node,
    ),
    "ClusterOperator": (
        [
            ("Name", "string", 0),
            ("Version", "string", 0),
            ("Available", "string", 0),
            ("Progressing", "string", 0),
            ("Degraded", "string", 0),
            ("Since", "date", 0),
            ("Message", "string", 0),
        ],
        _operator,
    ),
    "Event": (
        [
            ("Last Seen", "string", 0),
            ("Type", "string", 0),
            ("Reason", "string", 0),
            ("Object", "string", 0),
            ("Message", "string", 0),
        ],
        _event,
    ),
}
_GENERIC: list[Column] = [("Name", "string", 0), ("Age", "string", 0)]


def _definition(name: str, type_: str, priority: int) -> dict[str, Any]:
    described = {"name": name, "type": type_, "priority": priority, "description": ""}
    return described | {"format": "name" if name == "Name" else ""}


def _row_object(obj: dict[str, Any], include: str) -> dict[str, Any] | None:
    """As `?includeObject=` asks: None, Object, or (the default) its metadata only."""
    if include == "None":
        return None
    if include == "Object":
        return obj
    metadata = obj.get("metadata") or {}
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata}


def table(
    kind: str,
    objects: list[dict[str, Any]],
    now: datetime | None = None,
    *,
    include: str = "Metadata",
) -> dict[str, Any]:
    columns, make_row = _KINDS.get(kind, (_GENERIC, _generic))
    now = now or datetime.now(UTC)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": "1"},
        "columnDefinitions": [_definition(*column) for column in columns],
        "rows": [
            {"cells": make_row(obj, now), "object": _row_object(obj, include)} for obj in objects
        ],
    }
