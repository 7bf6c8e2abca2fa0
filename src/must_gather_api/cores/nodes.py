"""Short-lived node pods: how the service reads one node's core dumps (docs/cores.md).

For each request and node, the service creates a pod bound to that node, in its own
namespace (``CORES_POD_NAMESPACE``), that mounts the node's core directory (read-only
unless a core is being deleted), its journal and CRI-O's container state, runs nothing but
an idle ``python3``, and holds no token (``automountServiceAccountToken: false``). The
pod's environment carries ``cores/nodeprogram.py``'s source; the service execs it in the
pod it created, by the name the API server gave it (never a pod found by label), then
deletes the pod. The caller's token is never sent anywhere but to the cluster's reviews.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from must_gather_api.cores import nodeprogram
from must_gather_api.errors import CoreNotFound, NodeUnavailable
from must_gather_api.executors.kubernetes.calls import ClusterCalls
from must_gather_api.executors.kubernetes.errors import ClusterCallFailed
from must_gather_api.executors.kubernetes.exec_channels import ExecEnding, stdout_of
from must_gather_api.kube.failures import clipped

CORES_MOUNT = "/host/cores"
JOURNAL_MOUNT = "/host/journal"
RUNTIME_MOUNT = "/host/containers"
CONTAINER = "reader"
COMPONENT_LABEL = "app.kubernetes.io/component"
COMPONENT = "core-reader"
_POLL_SECONDS = 0.1
_IDLE_SECONDS = 900  # the pod ends by itself even if the service never deletes it
PROGRAM = Path(nodeprogram.__file__).read_text(encoding="utf-8")
PROGRAM_ENV = "MGA_CORES_PROGRAM"
# The program travels in the pod's environment: an exec's URL carries only this line.
_LAUNCHER = f"import os; exec(os.environ['{PROGRAM_ENV}'])"


def pod_body(node: str, image: str, *, writable: bool) -> dict[str, Any]:
    """A pod on ``node`` that can read its cores, with the least it needs."""
    mounts = [
        {"name": "cores", "mountPath": CORES_MOUNT, "readOnly": not writable},
        {"name": "journal", "mountPath": JOURNAL_MOUNT, "readOnly": True},
        {"name": "runtime", "mountPath": RUNTIME_MOUNT, "readOnly": True},
    ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": "must-gather-api-cores-",
            "labels": {"app.kubernetes.io/name": "must-gather-api", COMPONENT_LABEL: COMPONENT},
        },
        "spec": {
            "nodeName": node,
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 0,
            "activeDeadlineSeconds": _IDLE_SECONDS,
            "tolerations": [{"operator": "Exists"}],
            "securityContext": {"runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": CONTAINER,
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["python3", "-c", f"import time; time.sleep({_IDLE_SECONDS})"],
                    "env": [{"name": PROGRAM_ENV, "value": PROGRAM}],
                    "securityContext": {
                        "privileged": False,
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        # Reads cores owned by the crashed process's user; nothing else.
                        "capabilities": {"drop": ["ALL"], "add": ["DAC_READ_SEARCH"]},
                    },
                    "resources": {
                        "requests": {"cpu": "10m", "memory": "32Mi"},
                        "limits": {"memory": "256Mi"},
                    },
                    "volumeMounts": mounts,
                }
            ],
            "volumes": [
                {
                    "name": "cores",
                    "hostPath": {"path": "/var/lib/systemd/coredump", "type": "DirectoryOrCreate"},
                },
                {"name": "journal", "hostPath": {"path": "/var/log/journal", "type": ""}},
                {
                    "name": "runtime",
                    "hostPath": {"path": "/run/containers/storage/overlay-containers", "type": ""},
                },
            ],
        },
    }


def _exit_code(status: dict[str, Any] | None) -> int:
    if status is None or status.get("status") == "Success":
        return 0
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message", "1"))
            except ValueError:
                return 1
    return 1


class NodePod:
    """One node pod, created and running; ``run`` and ``stream`` exec the node program."""

    def __init__(self, calls: ClusterCalls, namespace: str, name: str, node: str) -> None:
        self.calls = calls
        self.namespace = namespace
        self.name = name
        self.node = node

    def _command(self, args: list[str]) -> list[str]:
        return ["python3", "-c", _LAUNCHER, *args]

    async def stream(self, args: list[str]) -> AsyncIterator[bytes]:
        """The program's stdout as it comes; CoreNotFound or NodeUnavailable at the end."""
        ending = ExecEnding(stderr_kept=2048)
        async with self.calls.exec_stream(
            self.namespace,
            self.name,
            container=CONTAINER,
            command=self._command(args),
            what=f"read the core dumps of node {self.node}",
        ) as socket:
            async for data in stdout_of(socket, ending):
                yield data
        code = _exit_code(ending.status)
        if code == nodeprogram.NOT_FOUND:
            raise CoreNotFound(f"there is no such core dump on node {self.node}")
        if code != 0:
            why = clipped(ending.stderr.decode("utf-8", "replace")) or f"exit code {code}"
            raise NodeUnavailable(f"node {self.node} could not read its core dumps: {why}")

    async def run(self, args: list[str]) -> Any:
        """The program's JSON answer."""
        out = b"".join([chunk async for chunk in self.stream(args)])
        try:
            return json.loads(out)
        except ValueError as e:
            raise NodeUnavailable(f"node {self.node} answered something that is not JSON") from e


async def _wait_running(calls: ClusterCalls, namespace: str, name: str, node: str) -> None:
    # A poll, as `kubectl wait` would do it; bounded by the node's deadline.
    while True:
        pod = await calls.get(f"/api/v1/namespaces/{namespace}/pods/{name}", what="read a pod")
        status = pod.get("status") or {}
        for container in status.get("containerStatuses") or []:
            state = container.get("state") or {}
            if "running" in state:
                return
            if "terminated" in state:
                raise NodeUnavailable(f"the pod reading node {node} ended before it was used")
            waiting = (state.get("waiting") or {}).get("reason")
            if waiting in ("ErrImagePull", "ImagePullBackOff", "InvalidImageName"):
                raise NodeUnavailable(f"the pod reading node {node} cannot pull its image")
        if time.monotonic() + _POLL_SECONDS >= calls.deadline:
            raise NodeUnavailable(f"node {node} did not start a pod in time (is it Ready?)")
        await asyncio.sleep(_POLL_SECONDS)


@contextlib.asynccontextmanager
async def node_pod(
    calls: ClusterCalls, namespace: str, node: str, image: str, *, writable: bool = False
) -> AsyncIterator[NodePod]:
    """A running node pod on ``node``, deleted on the way out."""
    try:
        created = await calls.post(
            f"/api/v1/namespaces/{namespace}/pods",
            pod_body(node, image, writable=writable),
            what=f"create a pod on node {node}",
        )
    except ClusterCallFailed as e:
        raise NodeUnavailable(f"node {node}: {e.message}") from e
    name = str(created["metadata"]["name"])
    try:
        try:
            await _wait_running(calls, namespace, name, node)
        except ClusterCallFailed as e:
            raise NodeUnavailable(f"node {node}: {e.message}") from e
        yield NodePod(calls, namespace, name, node)
    finally:
        # Even when cancelled: the pod would otherwise idle until its own deadline.
        remover = asyncio.ensure_future(_delete(calls, namespace, name))
        await asyncio.shield(remover)


async def _delete(calls: ClusterCalls, namespace: str, name: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/pods/{name}"
    with contextlib.suppress(ClusterCallFailed):
        deadline = time.monotonic() + calls.request_timeout
        await calls.delete(path, what=f"delete pod {name}", deadline=deadline)
