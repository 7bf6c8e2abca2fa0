"""Known faults to seed on top of the default objects, for tests of archive analysis.

Each is one thing support looks for first, placed where the stand-in images gather it:
a degraded ClusterOperator (``authentication``), a NotReady node (``worker-2``), a
crash-looping pod (``default/api-gateway-...``), a failed Forklift plan with its failed
migration (``openshift-mtv/failed-cold-migration``) and a CA bundle whose certificate
expires in ``EXPIRING_DAYS`` days (``openshift-kube-apiserver/expiring-ca-bundle``).
Off by default (``ClusterOptions.seed_faults``), so other tests see the usual cluster.
"""

from __future__ import annotations

import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kubesim import kinds
from kubesim.seed.core import Seeded, node
from kubesim.seed.forklift import API_VERSION, FORKLIFT_NAMESPACE
from kubesim.seed.objects import Clock, StaticContainer, config_map, static_pod
from kubesim.seed.openshift import cluster_operator

DEGRADED_OPERATOR = "authentication"
NOT_READY_NODE = "worker-2"
CRASHING_POD = "api-gateway-7f9c6d8b5-x2x8q"
FAILED_PLAN = "failed-cold-migration"
EXPIRING_CONFIG_MAP = "expiring-ca-bundle"
EXPIRING_DAYS = 10


def certificate_pem(common_name: str, *, not_after: datetime.datetime) -> str:
    """A self-signed certificate (PEM) valid until ``not_after``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - datetime.timedelta(days=365))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _not_ready_node(clock: Clock) -> dict[str, Any]:
    made = node(clock, NOT_READY_NODE, 5, master=False)
    for condition in made["status"]["conditions"]:
        condition.update(
            status="Unknown",
            reason="NodeStatusUnknown",
            message="Kubelet stopped posting node status.",
        )
    return made


def _crashing_pod(clock: Clock) -> dict[str, Any]:
    pod = static_pod(
        clock,
        "default",
        CRASHING_POD,
        node="worker-0",
        labels={"app": "api-gateway"},
        containers=[
            StaticContainer(
                "gateway",
                "quay.io/example/api-gateway:1.4",
                [
                    (3, "starting api-gateway 1.4"),
                    (2.9, "loading routes from /etc/gateway/routes.yaml"),
                    (2.8, "panic: open /etc/gateway/routes.yaml: no such file or directory"),
                ],
            )
        ],
    )
    status = pod["status"]["containerStatuses"][0]
    status.update(
        ready=False,
        started=False,
        restartCount=7,
        state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}},
        lastState={"terminated": {"exitCode": 2, "reason": "Error"}},
    )
    return pod


def _failed_plan(clock: Clock) -> list[tuple[kinds.Kind, dict[str, Any]]]:
    ns, when = FORKLIFT_NAMESPACE, clock.ago(hours=2)
    failed = {
        "type": "Failed",
        "status": "True",
        "category": "Advisory",
        "lastTransitionTime": when,
        "message": "The plan execution has FAILED.",
    }
    error = {"phase": "DiskTransfer", "reasons": ["Unable to connect to vddk data source."]}
    plan = {
        "apiVersion": API_VERSION,
        "kind": "Plan",
        "metadata": {"name": FAILED_PLAN, "namespace": ns},
        "spec": {"warm": False, "targetNamespace": "default", "vms": [{"id": "vm-3001"}]},
        "status": {
            "conditions": [failed],
            "migration": {
                "started": when,
                "vms": [
                    {
                        "id": "vm-3001",
                        "name": "legacy-erp",
                        "phase": "Completed",
                        "error": error,
                        "pipeline": [
                            {"name": "Initialize", "phase": "Completed"},
                            {"name": "DiskTransfer", "phase": "Running", "error": error},
                        ],
                        "conditions": [failed],
                    }
                ],
            },
        },
    }
    migration = {
        "apiVersion": API_VERSION,
        "kind": "Migration",
        "metadata": {"name": f"{FAILED_PLAN}-m4x7k", "namespace": ns},
        "spec": {"plan": {"name": FAILED_PLAN, "namespace": ns}},
        "status": {"conditions": [failed], "started": when},
    }
    return [(kinds.PLANS, plan), (kinds.MIGRATIONS, migration)]


def fault_objects(clock: Clock) -> Seeded:
    """The faults, in creation order (their namespaces exist in the default seed)."""
    operator = cluster_operator(
        clock,
        DEGRADED_OPERATOR,
        "openshift-kube-apiserver",
        "OAuthServerDeploymentDegraded: 1 of 3 oauth-openshift pods are crash-looping",
    )
    expires = clock.now + datetime.timedelta(days=EXPIRING_DAYS, hours=1)
    bundle = config_map(
        "openshift-kube-apiserver",
        EXPIRING_CONFIG_MAP,
        {"ca-bundle.crt": certificate_pem("kube-apiserver-serving-ca", not_after=expires)},
    )
    return [
        (kinds.CLUSTER_OPERATORS, operator),
        (kinds.NODES, _not_ready_node(clock)),
        (kinds.PODS, _crashing_pod(clock)),
        *_failed_plan(clock),
        (kinds.CONFIG_MAPS, bundle),
    ]
