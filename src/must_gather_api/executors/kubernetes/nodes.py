"""Where gather pods may run, chosen as oc chooses (``getCandidateNodeNames``).

Without a node name or selector the pod is steered to control-plane nodes that are Ready
(at most ten, most recent heartbeat first) by a required node affinity; with a selector,
one pod goes to each matching node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from must_gather_api.executors.kubernetes.calls import ClusterCalls
from must_gather_api.executors.kubernetes.errors import ClusterCallFailed, GatherError

CONTROL_PLANE = "node-role.kubernetes.io/control-plane"
_NOT_READY_TAINTS = ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")
_MAX_CANDIDATES = 10


@dataclass
class Targets:
    """What the pods of one image are bound to: each entry is a node name or "" (scheduler)."""

    nodes: list[str] = field(default_factory=lambda: [""])
    has_master: bool = False
    candidates: list[str] = field(default_factory=list)
    per_node: bool = False


def _ready(node: dict[str, Any]) -> tuple[bool, str]:
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("status") == "True", str(condition.get("lastHeartbeatTime") or "")
    return False, ""


def candidate_names(nodes: list[dict[str, Any]], *, has_master: bool) -> list[str]:
    remaining, unschedulable, control_plane, workers, all_control_plane = [], [], [], [], []
    for node in nodes:
        labels = (node.get("metadata") or {}).get("labels") or {}
        taints = (node.get("spec") or {}).get("taints") or []
        is_control_plane = CONTROL_PLANE in labels
        if is_control_plane:
            all_control_plane.append(node)
        ready, _ = _ready(node)
        if not ready or any(t.get("key") in _NOT_READY_TAINTS for t in taints):
            remaining.append(node)
        elif (node.get("spec") or {}).get("unschedulable"):
            unschedulable.append(node)
        elif is_control_plane:
            control_plane.append(node)
        else:
            workers.append(node)
    if has_master:
        chosen = control_plane or all_control_plane
    else:
        chosen = next((b for b in (control_plane, workers, unschedulable, remaining) if b), [])
    chosen = sorted(chosen, key=lambda n: _ready(n)[1], reverse=True)
    return [str(n["metadata"]["name"]) for n in chosen[:_MAX_CANDIDATES]]


async def _list(calls: ClusterCalls, selector: str = "") -> list[dict[str, Any]]:
    query = {"labelSelector": selector} if selector else None
    listed = await calls.get("/api/v1/nodes", what="list nodes", query=query)
    return list(listed.get("items") or [])


async def choose(calls: ClusterCalls, *, node_name: str, node_selector: str) -> Targets:
    nodes = await _list(calls, node_selector)
    has_master = any(
        CONTROL_PLANE in ((n.get("metadata") or {}).get("labels") or {}) for n in nodes
    )
    targets = Targets(
        has_master=has_master, candidates=candidate_names(nodes, has_master=has_master)
    )
    if node_selector:
        names = sorted(str(n["metadata"]["name"]) for n in nodes)
        if not names:
            raise GatherError(f"no node matches the node selector {node_selector!r}")
        targets.nodes, targets.per_node = names, True
    elif node_name:
        try:
            await calls.get(f"/api/v1/nodes/{node_name}", what=f"read node {node_name}")
        except ClusterCallFailed as e:
            if e.status == 404:
                raise GatherError(f"node {node_name!r} does not exist in the cluster") from e
            raise
        targets.nodes = [node_name]
    return targets


def affinity(candidates: list[str]) -> dict[str, Any] | None:
    if not candidates:
        return None
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {
                                "key": "kubernetes.io/hostname",
                                "operator": "In",
                                "values": candidates,
                            }
                        ]
                    }
                ]
            }
        }
    }
