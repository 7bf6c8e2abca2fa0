"""Builders for seed objects: times relative to the cluster's start, static pods, events."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kubesim.images.catalogue import parse_reference, stable_digest

# Pods that are objects only: the kubelet neither schedules nor runs them, and serves their
# logs from these annotations ("<RFC3339Nano> <text>" lines; per container, or for all).
STATIC_ANNOTATION = "kubesim.io/static"
LOG_ANNOTATION = "kubesim.io/log"
SEED_NAMESPACE = uuid.UUID("6f1c2a52-9b7e-4d0e-8a51-5a8f0c3e2b17")


def log_annotation(container: str) -> str:
    return f"{LOG_ANNOTATION}.{container}"


def stable_uid(*parts: str) -> str:
    return str(uuid.uuid5(SEED_NAMESPACE, "/".join(parts)))


def stable_suffix(*parts: str, length: int = 5) -> str:
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


@dataclass(frozen=True)
class Clock:
    """Seed times are relative to ``now``, so MUST_GATHER_SINCE filtering means something."""

    now: datetime

    def ago(self, *, hours: float = 0, minutes: float = 0, seconds: float = 0) -> str:
        at = self.now - timedelta(hours=hours, minutes=minutes, seconds=seconds)
        return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def ago_nano(self, *, minutes: float) -> str:
        at = self.now - timedelta(minutes=minutes)
        return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


@dataclass
class StaticContainer:
    name: str
    image: str
    # (minutes ago, text), oldest first
    log: list[tuple[float, str]] = field(default_factory=list)


def static_pod(
    clock: Clock,
    namespace: str,
    name: str,
    *,
    node: str,
    containers: list[StaticContainer],
    labels: dict[str, str] | None = None,
    started_hours_ago: float = 48,
    pod_ip: str = "10.128.0.10",
    host_ip: str = "10.0.0.10",
) -> dict[str, Any]:
    annotations = {STATIC_ANNOTATION: "true"}
    for c in containers:
        lines = "".join(f"{clock.ago_nano(minutes=m)} {text}\n" for m, text in c.log)
        annotations[log_annotation(c.name)] = lines
    if len(containers) == 1:
        annotations[LOG_ANNOTATION] = annotations[log_annotation(containers[0].name)]
    started = clock.ago(hours=started_hours_ago)
    statuses = []
    for c in containers:
        ref = parse_reference(c.image)
        statuses.append(
            {
                "name": c.name,
                "image": c.image,
                "imageID": f"{ref.name}@{stable_digest(ref.name)}",
                "containerID": f"cri-o://{stable_uid(namespace, name, c.name).replace('-', '')}",
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": started}},
                "lastState": {},
            }
        )
    conditions = [
        {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": started}
        for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")
    ] + [{"type": "PodScheduled", "status": "True", "lastTransitionTime": started}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels or {},
            "annotations": annotations,
        },
        "spec": {
            "nodeName": node,
            "restartPolicy": "Always",
            "serviceAccountName": "default",
            "containers": [
                {"name": c.name, "image": c.image, "imagePullPolicy": "IfNotPresent"}
                for c in containers
            ],
        },
        "status": {
            "phase": "Running",
            "conditions": conditions,
            "hostIP": host_ip,
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
            "startTime": started,
            "qosClass": "BestEffort",
            "containerStatuses": statuses,
        },
    }


def event(
    clock: Clock,
    namespace: str,
    *,
    involved: tuple[str, str],
    reason: str,
    message: str,
    minutes_ago: float,
    type_: str = "Normal",
    component: str = "kubelet",
    count: int = 1,
) -> dict[str, Any]:
    kind, name = involved
    stamp = clock.ago(minutes=minutes_ago)
    suffix = stable_suffix(namespace, kind, name, reason, str(minutes_ago), length=8)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.{suffix}", "namespace": namespace},
        "involvedObject": {
            "apiVersion": "v1",
            "kind": kind,
            "name": name,
            "namespace": namespace,
        },
        "reason": reason,
        "message": message,
        "type": type_,
        "source": {"component": component},
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": count,
        "reportingComponent": component,
        "reportingInstance": "",
    }


def config_map(namespace: str, name: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


def namespace(name: str, *, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels or {}},
    }
