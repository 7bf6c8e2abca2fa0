"""A must-gather-shaped pod for kubesim's contract tests, and waiting on its state."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from kubesim import kinds
from kubesim.cluster import Cluster

NAMESPACE = "default"


def must_gather_pod(name: str, gather_script: str) -> dict[str, Any]:
    """Containers `gather` (runs the script) and `copy` (sleeps), sharing /must-gather, as oc's."""
    mount = [{"name": "must-gather-output", "mountPath": "/must-gather"}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "volumes": [{"name": "must-gather-output", "emptyDir": {}}],
            "containers": [
                {
                    "name": "gather",
                    "image": "busybox",
                    "command": ["/bin/bash", "-c", gather_script],
                    "volumeMounts": mount,
                },
                {
                    "name": "copy",
                    "image": "busybox",
                    "command": ["/bin/bash", "-c", "trap : TERM INT; sleep infinity & wait"],
                    "volumeMounts": mount,
                },
            ],
        },
    }


def container_state(pod: dict[str, Any], name: str) -> dict[str, Any]:
    for status in pod.get("status", {}).get("containerStatuses", []):
        if status["name"] == name:
            state: dict[str, Any] = status["state"]
            return state
    return {}


def gathered(pod: dict[str, Any]) -> bool:
    """`gather` has ended and `copy` still runs: the moment oc copies."""
    return "terminated" in container_state(pod, "gather") and "running" in container_state(
        pod, "copy"
    )


async def wait_for_pod(
    cluster: Cluster, name: str, ready: Callable[[dict[str, Any]], bool], *, within: float = 20
) -> dict[str, Any]:
    async with asyncio.timeout(within), cluster.store.watch(kinds.PODS) as watch:
        pod = cluster.store.get(kinds.PODS, name, namespace=NAMESPACE)
        if ready(pod):
            return pod
        async for _, obj in watch:
            if obj["metadata"]["name"] == name and ready(obj):
                return obj
    raise AssertionError("the watch ended")
