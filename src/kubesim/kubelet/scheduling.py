"""Placing pods on nodes, with the default scheduler's filters and messages.

Filters: node Ready, ``spec.unschedulable``, ``nodeSelector``, required node affinity, and
taints with effect NoSchedule/NoExecute against the pod's tolerations. Among the nodes left,
the one running the fewest pods wins (ties by name), which spreads pods as the default
scheduler's balancing roughly does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_FILTERED_EFFECTS = ("NoSchedule", "NoExecute")
_SELECTOR_MISMATCH = "node(s) didn't match Pod's node affinity/selector"


@dataclass(frozen=True)
class Placement:
    """The chosen node, or None with the scheduler's ``0/N nodes are available`` message."""

    node: str | None
    message: str = ""


def node_ready(node: Mapping[str, Any]) -> bool:
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False


def tolerates(tolerations: Sequence[Mapping[str, Any]], taint: Mapping[str, Any]) -> bool:
    """Whether one of the tolerations tolerates the taint (v1 toleration semantics)."""
    for t in tolerations:
        effect = t.get("effect") or ""
        if effect and effect != taint.get("effect"):
            continue
        operator = t.get("operator") or "Equal"
        key = t.get("key") or ""
        if operator == "Exists":
            if not key or key == taint.get("key"):
                return True
        elif key == taint.get("key") and (t.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _untolerated(pod_spec: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any] | None:
    tolerations = pod_spec.get("tolerations") or []
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in _FILTERED_EFFECTS and not tolerates(tolerations, taint):
            return dict(taint)
    return None


def _expression_matches(labels: Mapping[str, str], expr: Mapping[str, Any]) -> bool:
    key = str(expr.get("key", ""))
    operator = expr.get("operator")
    values = [str(v) for v in expr.get("values") or []]
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    if operator in ("Gt", "Lt") and key in labels and values:
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if operator == "Gt" else have < want
    return False


def _selector_matches(pod_spec: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    labels: Mapping[str, str] = (node.get("metadata") or {}).get("labels") or {}
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (
        ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        )
        or {}
    ).get("nodeSelectorTerms")
    if not required:
        return True
    for term in required:
        expressions = term.get("matchExpressions") or []
        fields = term.get("matchFields") or []
        name = str((node.get("metadata") or {}).get("name", ""))
        if all(_expression_matches(labels, e) for e in expressions) and all(
            _expression_matches({"metadata.name": name}, f) for f in fields
        ):
            return True
    return False


def _rejection(pod_spec: Mapping[str, Any], node: Mapping[str, Any]) -> str | None:
    """Why this node cannot take the pod, in the scheduler's words; None if it can."""
    if (node.get("spec") or {}).get("unschedulable"):
        unschedulable = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
        if not tolerates(pod_spec.get("tolerations") or [], unschedulable):
            return "node(s) were unschedulable"
    if not _selector_matches(pod_spec, node):
        return _SELECTOR_MISMATCH
    taint = _untolerated(pod_spec, node)
    if taint is not None:
        return f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value', '')}}}"
    if not node_ready(node):
        return "node(s) were not ready"
    return None


def place(
    pod: Mapping[str, Any],
    nodes: Sequence[Mapping[str, Any]],
    *,
    pods_per_node: Mapping[str, int] | None = None,
) -> Placement:
    """Chooses a node for a pod that has no ``spec.nodeName``."""
    if not nodes:
        return Placement(None, "no nodes available to schedule pods")
    spec = pod.get("spec") or {}
    reasons: Counter[str] = Counter()
    feasible: list[str] = []
    for node in nodes:
        reason = _rejection(spec, node)
        name = str(node["metadata"]["name"])
        if reason is None:
            feasible.append(name)
        else:
            reasons[reason] += 1
    if feasible:
        load = pods_per_node or {}
        return Placement(min(feasible, key=lambda n: (load.get(n, 0), n)))
    total = len(nodes)
    # Sorted as whole strings, counts included, as the scheduler's FitError does.
    details = ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))
    return Placement(
        None,
        f"0/{total} nodes are available: {details}. preemption: 0/{total} nodes are available: "
        f"{total} Preemption is not helpful for scheduling.",
    )


def can_run_on(node: Mapping[str, Any] | None) -> bool:
    """Whether the kubelet of a pod's assigned node would start it (exists and Ready)."""
    return node is not None and node_ready(node)
