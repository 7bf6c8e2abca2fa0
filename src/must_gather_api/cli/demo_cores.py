"""The demo's core dumps: the node side as deploy/cores gives it, and a workload that crashed.

The service's account gets what ``deploy/cores`` grants (a Role in the node pods' own
namespace, ``list`` on nodes; tests/deploy compares the two), and a pod of the
``kubesim.local/crashes`` image dies of SIGSEGV on a worker before the banner is printed,
so the demo's first ``cores list`` has something to show. Its environment holds a
password that no answer of the service may show.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from kubesim import kinds
from kubesim.cluster import Cluster
from kubesim.kinds import Kind
from kubesim.kubelet.coredumps import CORE_DIR
from kubesim.kubelet.rootfs import node_root

NODE_NAMESPACE = "must-gather-api-cores"
CRASHED_NAMESPACE = "default"
CRASHED_POD = "crasher"
CRASHED_NODE = "worker-0"
CRASH_IMAGE = "kubesim.local/crashes"
SECRET_ENV = {"DB_PASSWORD": "demo-password-never-shown"}
_ACCOUNT = {"kind": "ServiceAccount", "name": "must-gather-api", "namespace": "must-gather-api"}
_CRASH_SECONDS = 60


def _binding(kind: str, name: str, role_kind: str, namespace: str = "") -> dict[str, Any]:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": name},
        "subjects": [dict(_ACCOUNT)],
    }


def node_side_objects() -> list[tuple[Kind, dict[str, Any]]]:
    """deploy/cores's namespace and RBAC, for kubesim."""
    reader = "must-gather-api-core-reader"
    lister = "must-gather-api-node-lister"
    return [
        (kinds.NAMESPACES, {"metadata": {"name": NODE_NAMESPACE}}),
        (
            kinds.ROLES,
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": reader, "namespace": NODE_NAMESPACE},
                "rules": [
                    {
                        "apiGroups": [""],
                        "resources": ["pods"],
                        "verbs": ["create", "get", "delete"],
                    },
                    {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create", "get"]},
                ],
            },
        ),
        (kinds.ROLE_BINDINGS, _binding("RoleBinding", reader, "Role", NODE_NAMESPACE)),
        (
            kinds.CLUSTER_ROLES,
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": lister},
                "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]}],
            },
        ),
        (kinds.CLUSTER_ROLE_BINDINGS, _binding("ClusterRoleBinding", lister, "ClusterRole")),
    ]


def provision_node_side(cluster: Cluster) -> None:
    for kind, obj in node_side_objects():
        cluster.store.create(kind, obj)


@dataclass(frozen=True)
class Crashed:
    node: str
    core_id: str


def _terminated(pod: dict[str, Any]) -> bool:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return bool(statuses) and all("terminated" in s.get("state", {}) for s in statuses)


async def crash_a_workload(cluster: Cluster) -> Crashed:
    """A pod that dies of SIGSEGV on ``CRASHED_NODE``; returns once the node kept its core."""
    env = [{"name": name, "value": value} for name, value in SECRET_ENV.items()]
    async with (
        asyncio.timeout(_CRASH_SECONDS),
        cluster.store.watch(kinds.PODS, namespace=CRASHED_NAMESPACE) as watch,
    ):
        cluster.store.create(
            kinds.PODS,
            {
                "metadata": {"name": CRASHED_POD, "namespace": CRASHED_NAMESPACE},
                "spec": {
                    "nodeName": CRASHED_NODE,
                    "restartPolicy": "Never",
                    "containers": [{"name": "app", "image": CRASH_IMAGE, "env": env}],
                },
            },
        )
        async for _, pod in watch:
            if pod["metadata"]["name"] == CRASHED_POD and _terminated(pod):
                break
    directory = node_root(cluster.options.state_dir, CRASHED_NODE) / CORE_DIR
    newest = max(directory.glob("core.*"), key=lambda path: path.stat().st_mtime)
    return Crashed(CRASHED_NODE, newest.name)


def instructions(crashed: Crashed, *, url: str, token: str) -> str:
    """The banner's lines for core dumps: the CLI, then koredump's README lines."""
    where = f"--server {url} --token {token}"
    return f"""  # core dumps: pod {CRASHED_NAMESPACE}/{CRASHED_POD} crashed on {crashed.node}
  must-gather-api cores list {where}
  must-gather-api cores get -1 {where}        # saves the newest core and its metadata here
  # koredump's README lines, with this service in place of koreapi
  export token={token} URL={url} node={crashed.node} id={crashed.core_id}
  curl -fsS -H "Authorization: Bearer $token" $URL/apiv1/cores | jq
  curl -fsS -H "Authorization: Bearer $token" $URL/apiv1/cores/metadata/$node/$id | jq
  curl -fvsS -O -H "Authorization: Bearer $token" $URL/apiv1/cores/download/$node/$id
"""
