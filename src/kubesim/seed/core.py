"""Seed objects every cluster has: nodes, namespaces, a workload, events, configmaps, a secret."""

from __future__ import annotations

import base64
from typing import Any

from kubesim import kinds
from kubesim.kinds import Kind
from kubesim.seed.objects import (
    Clock,
    StaticContainer,
    config_map,
    event,
    namespace,
    static_pod,
)

Seeded = list[tuple[Kind, dict[str, Any]]]

MASTERS = ("master-0", "master-1", "master-2")
WORKERS = ("worker-0", "worker-1")
TAINTED_WORKER = "worker-1"
USER_NAMESPACE = "migration-demo"
KUBELET_VERSION = "v1.32.4"
PLAIN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease", USER_NAMESPACE)


def node(clock: Clock, name: str, index: int, *, master: bool) -> dict[str, Any]:
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        "node.openshift.io/os_id": "rhcos",
    }
    taints: list[dict[str, str]] = []
    if master:
        labels["node-role.kubernetes.io/master"] = ""
        labels["node-role.kubernetes.io/control-plane"] = ""
        taints.append({"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"})
    else:
        labels["node-role.kubernetes.io/worker"] = ""
    if name == TAINTED_WORKER:
        labels["node-role.kubernetes.io/infra"] = ""
        taints.append({"key": "node-role.kubernetes.io/infra", "effect": "NoSchedule"})
    # Distinct heartbeats: oc orders candidate nodes by the newest Ready heartbeat.
    heartbeat = clock.ago(seconds=5 + 7 * index)
    created = clock.ago(hours=72)
    ip = f"10.0.0.{10 + index}"

    def condition(type_: str, status: str, reason: str, message: str) -> dict[str, str]:
        return {
            "type": type_,
            "status": status,
            "lastHeartbeatTime": heartbeat,
            "lastTransitionTime": created,
            "reason": reason,
            "message": message,
        }

    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": {}},
        "spec": {"taints": taints} if taints else {},
        "status": {
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "ok"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "ok"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "ok"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "Hostname", "address": name},
            ],
            "capacity": {"cpu": "8", "memory": "32859464Ki", "pods": "250"},
            "allocatable": {"cpu": "7500m", "memory": "31708488Ki", "pods": "250"},
            "nodeInfo": {
                "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": KUBELET_VERSION,
                "operatingSystem": "linux",
                "architecture": "amd64",
                "containerRuntimeVersion": "cri-o://1.32.4",
                "osImage": "Red Hat Enterprise Linux CoreOS 418.94",
                "machineID": f"{index:032x}",
                "systemUUID": f"00000000-0000-0000-0000-{index:012x}",
                "bootID": f"b0000000-0000-0000-0000-{index:012x}",
                "kernelVersion": "5.14.0-427.el9.x86_64",
            },
        },
    }


def nodes(clock: Clock) -> Seeded:
    found: Seeded = []
    for index, name in enumerate(MASTERS):
        found.append((kinds.NODES, node(clock, name, index, master=True)))
    for index, name in enumerate(WORKERS, start=len(MASTERS)):
        found.append((kinds.NODES, node(clock, name, index, master=False)))
    return found


def namespaces_with_accounts(names: list[str]) -> Seeded:
    found: Seeded = []
    for name in names:
        labels = (
            {"pod-security.kubernetes.io/enforce": "privileged"} if name != USER_NAMESPACE else {}
        )
        found.append((kinds.NAMESPACES, namespace(name, labels=labels)))
    for name in names:
        account = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": name},
        }
        found.append((kinds.SERVICE_ACCOUNTS, account))
    return found


def user_workload(clock: Clock) -> Seeded:
    """A plain application in the user namespace, present with or without OpenShift."""
    ns = USER_NAMESPACE
    web = static_pod(
        clock,
        ns,
        "web-frontend-6b8d9c5f7-2xk4q",
        node="worker-0",
        labels={"app": "web-frontend", "pod-template-hash": "6b8d9c5f7"},
        containers=[
            StaticContainer(
                "web",
                "docker.io/library/busybox:latest",
                [
                    (180, "starting web frontend on :8080"),
                    (150, "GET /healthz 200"),
                    (90, "GET /api/items 200 (12ms)"),
                    (30, "GET /api/items 500 upstream timed out"),
                    (5, "GET /healthz 200"),
                ],
            )
        ],
        pod_ip="10.131.0.21",
        host_ip="10.0.0.13",
    )
    secret_value = base64.b64encode(b"s3cr3t-demo-password").decode()
    return [
        (kinds.PODS, web),
        (kinds.CONFIG_MAPS, config_map(ns, "web-frontend-config", {"LISTEN": ":8080"})),
        (
            kinds.SECRETS,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "vsphere-credentials", "namespace": ns},
                "type": "Opaque",
                "data": {
                    "user": base64.b64encode(b"administrator@vsphere.local").decode(),
                    "password": secret_value,
                },
            },
        ),
        (
            kinds.EVENTS,
            event(
                clock,
                ns,
                involved=("Pod", web["metadata"]["name"]),
                reason="Started",
                message="Started container web",
                minutes_ago=180,
            ),
        ),
        (
            kinds.EVENTS,
            event(
                clock,
                ns,
                involved=("Pod", web["metadata"]["name"]),
                reason="Unhealthy",
                message="Readiness probe failed: HTTP probe failed with statuscode: 500",
                minutes_ago=30,
                type_="Warning",
                count=3,
            ),
        ),
    ]


def kube_system(clock: Clock) -> Seeded:
    cm = config_map("kube-system", "cluster-config-v1", {"install-config": "platform: none\n"})
    return [
        (kinds.CONFIG_MAPS, cm),
        (
            kinds.EVENTS,
            event(
                clock,
                "default",
                involved=("Node", "worker-1"),
                reason="NodeReady",
                message="Node worker-1 status is now: NodeReady",
                minutes_ago=240,
            ),
        ),
    ]
