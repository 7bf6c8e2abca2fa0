"""Forklift (MTV) seed objects: a controller, providers, plans with VMs, migrations, pods.

docs/kubesim-images.md lists them; the Forklift stand-in image's ``targeted`` finds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubesim import kinds
from kubesim.seed.core import USER_NAMESPACE, Seeded
from kubesim.seed.objects import Clock, StaticContainer, config_map, stable_suffix, static_pod

FORKLIFT_NAMESPACE = "openshift-mtv"
API_VERSION = "forklift.konveyor.io/v1beta1"


@dataclass(frozen=True)
class PlanSeed:
    namespace: str
    name: str
    vms: tuple[tuple[str, str], ...]  # (id, name)
    warm: bool
    done: bool


# database-01 sits in two plans on purpose: VM=database-01 without NS matches both.
PLANS = (
    PlanSeed(
        FORKLIFT_NAMESPACE,
        "prod-cold-migration",
        (("vm-1001", "database-01"), ("vm-1002", "web-01")),
        False,
        True,
    ),
    PlanSeed(
        FORKLIFT_NAMESPACE, "prod-warm-migration", (("vm-1003", "app-server-01"),), True, False
    ),
    PlanSeed(
        USER_NAMESPACE,
        "demo-cold-plan",
        (("vm-2001", "database-01"), ("vm-2002", "cache-01")),
        False,
        True,
    ),
)


def _meta(ns: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": ns, **extra}


def providers(ns: str, clock: Clock) -> Seeded:
    host = {
        "apiVersion": API_VERSION,
        "kind": "Provider",
        "metadata": _meta(ns, "host"),
        "spec": {"type": "openshift", "url": "", "secret": {}},
        "status": {"phase": "Ready", "conditions": _ready(clock, "The provider is ready.")},
    }
    vsphere = {
        "apiVersion": API_VERSION,
        "kind": "Provider",
        "metadata": _meta(ns, "vsphere-prod" if ns == FORKLIFT_NAMESPACE else "vsphere-demo"),
        "spec": {
            "type": "vsphere",
            "url": "https://vcenter.example.com/sdk",
            "secret": {"name": "vsphere-credentials", "namespace": ns},
            "settings": {"vddkInitImage": "quay.io/kubev2v/vddk:8.0"},
        },
        "status": {"phase": "Ready", "conditions": _ready(clock, "The provider is ready.")},
    }
    return [(kinds.PROVIDERS, host), (kinds.PROVIDERS, vsphere)]


def _ready(clock: Clock, message: str) -> list[dict[str, str]]:
    return [
        {
            "type": "Ready",
            "status": "True",
            "category": "Required",
            "lastTransitionTime": clock.ago(hours=30),
            "message": message,
        }
    ]


def plan(seed: PlanSeed, clock: Clock) -> dict[str, Any]:
    source = "vsphere-prod" if seed.namespace == FORKLIFT_NAMESPACE else "vsphere-demo"
    started = clock.ago(hours=6)
    vm_status = [
        {
            "id": vm_id,
            "name": vm_name,
            "phase": "Completed" if seed.done else "CopyDisks",
            "started": started,
            **({"completed": clock.ago(hours=5)} if seed.done else {}),
            "conditions": [{"type": "Succeeded" if seed.done else "Running", "status": "True"}],
        }
        for vm_id, vm_name in seed.vms
    ]
    phase = "Succeeded" if seed.done else "Executing"
    return {
        "apiVersion": API_VERSION,
        "kind": "Plan",
        "metadata": _meta(seed.namespace, seed.name),
        "spec": {
            "warm": seed.warm,
            "targetNamespace": USER_NAMESPACE,
            "provider": {
                "source": {"name": source, "namespace": seed.namespace},
                "destination": {"name": "host", "namespace": seed.namespace},
            },
            "map": {
                "network": {"name": f"{seed.name}-network", "namespace": seed.namespace},
                "storage": {"name": f"{seed.name}-storage", "namespace": seed.namespace},
            },
            "vms": [{"id": vm_id, "name": vm_name} for vm_id, vm_name in seed.vms],
        },
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "category": "Required",
                    "lastTransitionTime": started,
                    "message": "The migration plan is ready.",
                },
                {
                    "type": phase,
                    "status": "True",
                    "category": "Advisory",
                    "lastTransitionTime": started,
                    "message": f"The plan is {phase.lower()}.",
                },
            ],
            "migration": {"started": started, "vms": vm_status},
        },
    }


def migration(seed: PlanSeed, clock: Clock) -> dict[str, Any]:
    name = f"{seed.name}-{stable_suffix(seed.namespace, seed.name)}"
    return {
        "apiVersion": API_VERSION,
        "kind": "Migration",
        "metadata": _meta(seed.namespace, name),
        "spec": {"plan": {"name": seed.name, "namespace": seed.namespace}},
        "status": {
            "started": clock.ago(hours=6),
            **({"completed": clock.ago(hours=5)} if seed.done else {}),
            "vms": [{"id": vm_id, "name": vm_name} for vm_id, vm_name in seed.vms],
        },
    }


def controller_log(seed_plans: tuple[PlanSeed, ...]) -> list[tuple[float, str]]:
    lines: list[tuple[float, str]] = [(720, "forklift-controller starting, version 2.8.0")]
    for p in seed_plans:
        lines.append((360, f'plan "{p.namespace}/{p.name}" execution started'))
        for vm_id, vm_name in p.vms:
            lines.append((350, f'migrating vm "{vm_name}" id={vm_id} plan={p.namespace}/{p.name}'))
            if p.done:
                lines.append((300, f'vm "{vm_name}" id={vm_id} phase=Completed'))
        if p.done:
            lines.append((299, f'plan "{p.namespace}/{p.name}" succeeded'))
    lines.append((1, "reconcile loop idle"))
    return sorted(lines, key=lambda entry: -entry[0])


def forklift_pods(clock: Clock) -> Seeded:
    controller = static_pod(
        clock,
        FORKLIFT_NAMESPACE,
        "forklift-controller-7d9c6b5f4-k2j8h",
        node="worker-0",
        labels={"app": "forklift", "control-plane": "controller-manager"},
        containers=[
            StaticContainer(
                "main", "quay.io/kubev2v/forklift-controller:latest", controller_log(PLANS)
            ),
            StaticContainer(
                "inventory",
                "quay.io/kubev2v/forklift-controller:latest",
                [
                    (700, "inventory: provider vsphere-prod connected"),
                    (2, "inventory: refreshed 42 VMs"),
                ],
            ),
        ],
        pod_ip="10.131.0.40",
        host_ip="10.0.0.13",
    )
    api = static_pod(
        clock,
        FORKLIFT_NAMESPACE,
        "forklift-api-5b7c9d8f6-m4n5p",
        node="worker-0",
        labels={"app": "forklift", "service": "forklift-api"},
        containers=[
            StaticContainer(
                "main",
                "quay.io/kubev2v/forklift-api:latest",
                [(700, "webhook server listening on :8443")],
            )
        ],
        pod_ip="10.131.0.41",
        host_ip="10.0.0.13",
    )
    found: Seeded = [(kinds.PODS, controller), (kinds.PODS, api)]
    for p in PLANS:
        for vm_id, vm_name in p.vms:
            pod = static_pod(
                clock,
                USER_NAMESPACE,
                f"{p.name}-{vm_id}-{stable_suffix(p.name, vm_id)}",
                node="worker-0",
                labels={"vmID": vm_id, "forklift.app": "virt-v2v", "plan-name": p.name},
                containers=[
                    StaticContainer(
                        "virt-v2v",
                        "quay.io/kubev2v/forklift-virt-v2v:latest",
                        [
                            (340, f"virt-v2v: converting {vm_name}"),
                            (301, "virt-v2v: Finishing off"),
                        ],
                    )
                ],
                pod_ip="10.131.0.60",
                host_ip="10.0.0.13",
            )
            found.append((kinds.PODS, pod))
    return found


def forklift_objects(clock: Clock) -> Seeded:
    ns = FORKLIFT_NAMESPACE
    controller = {
        "apiVersion": API_VERSION,
        "kind": "ForkliftController",
        "metadata": _meta(ns, "forklift-controller"),
        "spec": {"feature_ui_plugin": "true", "feature_validation": "true"},
        "status": {"conditions": [{"type": "Running", "status": "True"}]},
    }
    found: Seeded = [(kinds.FORKLIFT_CONTROLLERS, controller)]
    found += providers(ns, clock) + providers(USER_NAMESPACE, clock)
    found += [(kinds.PLANS, plan(p, clock)) for p in PLANS]
    found += [(kinds.MIGRATIONS, migration(p, clock)) for p in PLANS]
    found.append((kinds.CONFIG_MAPS, config_map(ns, "forklift-config", {"LOG_LEVEL": "3"})))
    credentials = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(ns, "vsphere-credentials"),
        "type": "Opaque",
        "data": {"user": "YWRtaW5pc3RyYXRvcg==", "password": "cHJvZC1wYXNzd29yZA=="},
    }
    found.append((kinds.SECRETS, credentials))
    found += forklift_pods(clock)
    return found
