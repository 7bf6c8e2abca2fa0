"""A pod's status as the kubelet reports it: container states, phase and conditions."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kubesim.store import now_rfc3339

CONTAINER_CREATING = "ContainerCreating"
POD_INITIALIZING = "PodInitializing"


@dataclass
class ContainerStatus:
    name: str
    image: str
    image_id: str = ""
    container_id: str = ""
    restart_count: int = 0
    state: dict[str, Any] = field(
        default_factory=lambda: {"waiting": {"reason": CONTAINER_CREATING}}
    )
    last_state: dict[str, Any] = field(default_factory=dict)
    started_at: str = ""

    @property
    def running(self) -> bool:
        return "running" in self.state

    @property
    def terminated(self) -> dict[str, Any] | None:
        found = self.state.get("terminated")
        return found if isinstance(found, dict) else None

    @property
    def waiting_reason(self) -> str | None:
        waiting = self.state.get("waiting")
        return str(waiting.get("reason", "")) if isinstance(waiting, dict) else None

    def set_waiting(self, reason: str, message: str = "") -> None:
        waiting: dict[str, Any] = {"reason": reason}
        if message:
            waiting["message"] = message
        self.state = {"waiting": waiting}

    def set_running(self, container_id: str) -> None:
        self.container_id = container_id
        self.started_at = now_rfc3339()
        self.state = {"running": {"startedAt": self.started_at}}

    def set_terminated(self, code: int, *, reason: str = "", message: str = "") -> None:
        terminated: dict[str, Any] = {
            "exitCode": code,
            "reason": reason or ("Completed" if code == 0 else "Error"),
            "startedAt": self.started_at or None,
            "finishedAt": now_rfc3339(),
            "containerID": self.container_id,
        }
        if message:
            terminated["message"] = message
        if not self.container_id:
            del terminated["containerID"]
        self.state = {"terminated": terminated}

    def restart(self) -> None:
        """The terminated state becomes ``lastState`` of the next run."""
        self.last_state = copy.deepcopy(self.state)
        self.restart_count += 1

    def as_json(self, *, node_ready: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "image": self.image,
            "imageID": self.image_id,
            "ready": self.running and node_ready,
            "restartCount": self.restart_count,
            "started": self.running,
            "state": copy.deepcopy(self.state),
            "lastState": copy.deepcopy(self.last_state),
        }
        if self.container_id:
            out["containerID"] = self.container_id
        return out


def pod_phase(
    restart_policy: str,
    containers: Sequence[ContainerStatus],
    init_containers: Sequence[ContainerStatus] = (),
) -> str:
    """The kubelet's getPhase, reduced to what kubesim's containers can be in."""
    for init in init_containers:
        term = init.terminated
        if term is None:
            return "Pending"
        if term.get("exitCode") != 0:
            return "Failed" if restart_policy == "Never" else "Pending"
    waiting = running = stopped = succeeded = 0
    for c in containers:
        term = c.terminated
        if c.running:
            running += 1
        elif term is not None:
            stopped += 1
            succeeded += term.get("exitCode") == 0
        elif c.last_state.get("terminated"):
            stopped += 1  # waiting to restart
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if restart_policy == "Always":
        return "Running"
    if stopped == succeeded:
        return "Succeeded"
    if restart_policy == "Never":
        return "Failed"
    return "Running"


def _condition(type_: str, ok: bool, reason: str = "", message: str = "") -> dict[str, Any]:
    cond: dict[str, Any] = {"type": type_, "status": "True" if ok else "False"}
    if not ok and reason:
        cond["reason"] = reason
    if not ok and message:
        cond["message"] = message
    return cond


def pod_conditions(
    *,
    phase: str,
    scheduled: bool,
    sandbox_ready: bool,
    containers: Sequence[ContainerStatus],
    init_containers: Sequence[ContainerStatus] = (),
    node_ready: bool = True,
    unschedulable_message: str = "",
) -> list[dict[str, Any]]:
    """Conditions in the order the kubelet lists them (transition times filled by merge)."""
    if not scheduled:
        return [_condition("PodScheduled", False, "Unschedulable", unschedulable_message)]
    incomplete = [c.name for c in init_containers if (c.terminated or {}).get("exitCode") != 0]
    unready = sorted(c.name for c in containers if not (c.running and node_ready))
    if phase in ("Succeeded", "Failed"):
        ready_reason, ready_message = "PodCompleted", ""
    elif not node_ready:
        ready_reason, ready_message = "NodeNotReady", "Node is not ready"
    else:
        ready_reason = "ContainersNotReady"
        ready_message = f"containers with unready status: [{' '.join(unready)}]"
    return [
        _condition("PodReadyToStartContainers", sandbox_ready and phase not in ("Succeeded",)),
        _condition(
            "Initialized",
            not incomplete,
            "ContainersNotInitialized",
            f"containers with incomplete status: [{' '.join(incomplete)}]",
        ),
        _condition("Ready", not unready and node_ready, ready_reason, ready_message),
        _condition("ContainersReady", not unready, ready_reason, ready_message),
        _condition("PodScheduled", True),
    ]


def merge_conditions(
    old: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Keeps ``lastTransitionTime`` where a condition's status did not change."""
    previous = {c.get("type"): c for c in old}
    now = now_rfc3339()
    merged = []
    for cond in new:
        before = previous.get(cond["type"])
        same = before is not None and before.get("status") == cond["status"]
        stamp = before.get("lastTransitionTime") if same and before else now
        merged.append({**cond, "lastProbeTime": None, "lastTransitionTime": stamp})
    return merged
