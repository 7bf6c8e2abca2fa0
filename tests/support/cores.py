"""Crashing workloads on kubesim and the service set up to read their cores."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from kubesim import kinds
from kubesim.auth import ADMIN_TOKEN
from kubesim.cluster import Cluster
from kubesim.kubelet.coredumps import CORE_DIR
from kubesim.kubelet.rootfs import node_root
from must_gather_api.cli.demo import SERVICE_ACCOUNT, SERVICE_NAMESPACE, provision_service_account
from support.users import allow_users

SECRET = "hunter2-never-in-a-response"
# Callers need `get namespaces`; so may they read cores. Admins stay cluster-admins.
NARROW = {
    "auth_verb": "get",
    "auth_group": "",
    "auth_resource": "namespaces",
    "auth_namespace": "",
    "cores_verb": "get",
    "cores_group": "",
    "cores_resource": "namespaces",
    "cores_namespace": "",
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer(ADMIN_TOKEN)


def _terminated(pod: dict[str, Any]) -> bool:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return bool(statuses) and all("terminated" in s.get("state", {}) for s in statuses)


async def crash(
    cluster: Cluster, namespace: str, name: str, node: str, *, core_bytes: int = 300000
) -> None:
    """A pod whose process dies of SIGSEGV on ``node``; returns once the node kept its core
    (``core_bytes`` of memory before compression)."""
    async with asyncio.timeout(30), cluster.store.watch(kinds.PODS, namespace=namespace) as watch:
        cluster.store.create(
            kinds.PODS,
            {
                "metadata": {"name": name, "namespace": namespace},
                "spec": {
                    "nodeName": node,
                    "restartPolicy": "Never",
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [
                        {
                            "name": "app",
                            "image": "kubesim.local/crashes",
                            "env": [
                                {"name": "DB_PASSWORD", "value": SECRET},
                                {"name": "CORE_BYTES", "value": str(core_bytes)},
                            ],
                        }
                    ],
                },
            },
        )
        async for _, pod in watch:
            if pod["metadata"]["name"] == name and _terminated(pod):
                return


def core_files(cluster: Cluster, node: str) -> list[Path]:
    return sorted((node_root(cluster.options.state_dir, node) / CORE_DIR).glob("core.*"))


def provision(cluster: Cluster, tmp_path: Path) -> Path:
    """The service's account, bound to cluster-admin as deploy/ binds it for
    GATHER_CREDENTIALS=service, and the users alice and bob; returns its kubeconfig."""
    kubeconfig = provision_service_account(cluster, tmp_path)
    cluster.store.create(
        kinds.CLUSTER_ROLE_BINDINGS,
        {
            "metadata": {"name": "must-gather-api-admin"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "cluster-admin",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": SERVICE_NAMESPACE}
            ],
        },
    )
    allow_users(cluster)
    return kubeconfig


def service_settings(kubeconfig: Path, **settings: Any) -> dict[str, Any]:
    return {
        "auth": "kubernetes",
        "use_kubeconfig": "true",
        "kubeconfig": str(kubeconfig),
        **NARROW,
        **settings,
    }


async def all_node_pods_gone(cluster: Cluster) -> None:
    """Every node pod was deleted (a running pod's removal ends after its processes)."""
    async with (
        asyncio.timeout(20),
        cluster.store.watch(kinds.PODS, namespace=SERVICE_NAMESPACE) as watch,
    ):
        if not cluster.store.list(kinds.PODS, namespace=SERVICE_NAMESPACE):
            return
        left = cluster.store.list(kinds.PODS, namespace=SERVICE_NAMESPACE)
        assert all(p["metadata"].get("deletionTimestamp") for p in left), left
        async for _ in watch:
            if not cluster.store.list(kinds.PODS, namespace=SERVICE_NAMESPACE):
                return
