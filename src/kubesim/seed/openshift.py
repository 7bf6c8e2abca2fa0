"""OpenShift seed objects: clusterversion, clusteroperators, the must-gather imagestream, CSVs."""

from __future__ import annotations

from typing import Any

from kubesim import kinds
from kubesim.images import ImageCatalogue, builtin
from kubesim.images.catalogue import stable_digest
from kubesim.seed.core import Seeded
from kubesim.seed.objects import Clock, StaticContainer, event, stable_uid, static_pod

OPENSHIFT_VERSION = "4.18.3"
CLUSTER_ID = stable_uid("clusterversion", "version")
INTERNAL_REGISTRY = "image-registry.openshift-image-registry.svc:5000"
MUST_GATHER_ANNOTATION = "operators.openshift.io/must-gather-image"
OPENSHIFT_NAMESPACES = (
    "openshift",
    "openshift-cluster-version",
    "openshift-etcd",
    "openshift-kube-apiserver",
    "openshift-dns",
    "openshift-ingress",
    "openshift-image-registry",
    "openshift-operator-lifecycle-manager",
    "openshift-cnv",
    "openshift-mtv",
)
# name -> (related namespace, degraded message or "")
CLUSTER_OPERATORS = {
    "etcd": ("openshift-etcd", ""),
    "kube-apiserver": ("openshift-kube-apiserver", ""),
    "dns": ("openshift-dns", ""),
    "ingress": ("openshift-ingress", ""),
    "image-registry": (
        "openshift-image-registry",
        "Degraded: The deployment does not have available replicas",
    ),
    "operator-lifecycle-manager": ("openshift-operator-lifecycle-manager", ""),
}


def cluster_version(clock: Clock) -> dict[str, Any]:
    release = "quay.io/openshift-release-dev/ocp-release"
    image = f"{release}@{stable_digest(release + ':' + OPENSHIFT_VERSION)}"
    started, completed = clock.ago(hours=70), clock.ago(hours=69)

    def cond(type_: str, status: str, message: str = "") -> dict[str, str]:
        return {
            "type": type_,
            "status": status,
            "lastTransitionTime": completed,
            "message": message,
        }

    return {
        "apiVersion": "config.openshift.io/v1",
        "kind": "ClusterVersion",
        "metadata": {"name": "version"},
        "spec": {"clusterID": CLUSTER_ID, "channel": "stable-4.18"},
        "status": {
            "desired": {"version": OPENSHIFT_VERSION, "image": image, "channels": ["stable-4.18"]},
            "history": [
                {
                    "state": "Completed",
                    "version": OPENSHIFT_VERSION,
                    "image": image,
                    "startedTime": started,
                    "completionTime": completed,
                    "verified": False,
                }
            ],
            "observedGeneration": 1,
            "versionHash": "kubesim",
            "availableUpdates": None,
            "conditions": [
                cond("Available", "True", f"Done applying {OPENSHIFT_VERSION}"),
                cond("Failing", "False"),
                cond("Progressing", "False", f"Cluster version is {OPENSHIFT_VERSION}"),
                cond("RetrievedUpdates", "False", "kubesim has no update service"),
            ],
        },
    }


def cluster_operator(clock: Clock, name: str, ns: str, degraded: str) -> dict[str, Any]:
    since = clock.ago(hours=69)

    def cond(type_: str, status: str, message: str = "") -> dict[str, str]:
        return {"type": type_, "status": status, "lastTransitionTime": since, "message": message}

    return {
        "apiVersion": "config.openshift.io/v1",
        "kind": "ClusterOperator",
        "metadata": {"name": name},
        "spec": {},
        "status": {
            "conditions": [
                cond("Available", "True", "All is well"),
                cond("Degraded", "True" if degraded else "False", degraded),
                cond("Progressing", "False"),
                cond("Upgradeable", "True"),
            ],
            "versions": [{"name": "operator", "version": OPENSHIFT_VERSION}],
            "relatedObjects": [
                {"group": "", "resource": "namespaces", "name": ns},
                {
                    "group": "operator.openshift.io",
                    "resource": name.replace("-", ""),
                    "name": "cluster",
                },
            ],
        },
    }


def must_gather_image_stream(clock: Clock) -> dict[str, Any]:
    source = builtin.ORIGIN_MUST_GATHER
    digest = ImageCatalogue.default().digest_of(source)
    return {
        "apiVersion": "image.openshift.io/v1",
        "kind": "ImageStream",
        "metadata": {"name": "must-gather", "namespace": "openshift"},
        "spec": {
            "lookupPolicy": {"local": False},
            "tags": [
                {
                    "name": "latest",
                    "from": {"kind": "DockerImage", "name": f"{source}:latest"},
                    "generation": 2,
                    "importPolicy": {"importMode": "Legacy"},
                    "referencePolicy": {"type": "Source"},
                }
            ],
        },
        "status": {
            "dockerImageRepository": f"{INTERNAL_REGISTRY}/openshift/must-gather",
            "tags": [
                {
                    "tag": "latest",
                    "items": [
                        {
                            "created": clock.ago(hours=70),
                            "dockerImageReference": f"{source}@{digest}",
                            "image": digest,
                            "generation": 2,
                        }
                    ],
                }
            ],
        },
    }


def csv(ns: str, name: str, display: str, version: str, gather_image: str) -> dict[str, Any]:
    return {
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "ClusterServiceVersion",
        "metadata": {
            "name": name,
            "namespace": ns,
            "annotations": {MUST_GATHER_ANNOTATION: gather_image},
        },
        "spec": {"displayName": display, "version": version, "install": {"strategy": "deployment"}},
        "status": {"phase": "Succeeded", "reason": "InstallSucceeded"},
    }


def platform_pods(clock: Clock) -> Seeded:
    etcd = static_pod(
        clock,
        "openshift-etcd",
        "etcd-master-0",
        node="master-0",
        labels={"app": "etcd", "etcd": "true"},
        containers=[
            StaticContainer(
                "etcd",
                "quay.io/openshift-release-dev/ocp-v4.0-art-dev:etcd",
                [
                    (
                        200,
                        "etcdserver: starting member 8e9e05c52164694d in cluster cdf818194e3a8c32",
                    ),
                    (120, "etcdserver: apply request took too long (112.7ms)"),
                    (45, "etcdserver: compacted raft log at 1204000"),
                    (2, "etcdserver: saved snapshot at index 1210000"),
                ],
            ),
            StaticContainer(
                "etcdctl",
                "quay.io/openshift-release-dev/ocp-v4.0-art-dev:etcd",
                [(200, "etcdctl ready")],
            ),
        ],
        pod_ip="10.0.0.10",
    )
    cvo = static_pod(
        clock,
        "openshift-cluster-version",
        "cluster-version-operator-6c9d5f7b8-x2k4p",
        node="master-1",
        labels={"k8s-app": "cluster-version-operator"},
        containers=[
            StaticContainer(
                "cluster-version-operator",
                "quay.io/openshift-release-dev/ocp-release:4.18.3-x86_64",
                [
                    (300, f"ClusterVersionOperator {OPENSHIFT_VERSION} starting"),
                    (60, "Result of work: []"),
                    (1, "Result of work: []"),
                ],
            )
        ],
        pod_ip="10.0.0.11",
        host_ip="10.0.0.11",
    )
    dns = static_pod(
        clock,
        "openshift-dns",
        "dns-default-4xk2m",
        node="worker-0",
        labels={"dns.operator.openshift.io/daemonset-dns": "default"},
        containers=[
            StaticContainer(
                "dns",
                "quay.io/openshift-release-dev/ocp-v4.0-art-dev:coredns",
                [
                    (100, "CoreDNS-1.11.3 linux/amd64"),
                    (10, "[INFO] plugin/reload: Running configuration"),
                ],
            ),
            StaticContainer(
                "kube-rbac-proxy",
                "quay.io/openshift-release-dev/ocp-v4.0-art-dev:kube-rbac-proxy",
                [(100, "Starting TCP socket on :9154")],
            ),
        ],
        pod_ip="10.128.2.5",
        host_ip="10.0.0.13",
    )
    return [
        (kinds.PODS, etcd),
        (kinds.PODS, cvo),
        (kinds.PODS, dns),
        (
            kinds.EVENTS,
            event(
                clock,
                "openshift-etcd",
                involved=("Pod", "etcd-master-0"),
                reason="Pulled",
                message="Container image already present on machine",
                minutes_ago=200,
            ),
        ),
        (
            kinds.EVENTS,
            event(
                clock,
                "openshift-etcd",
                involved=("Pod", "etcd-master-0"),
                reason="Unhealthy",
                message="Readiness probe failed: etcd member is slow to respond",
                minutes_ago=20,
                type_="Warning",
            ),
        ),
    ]


def openshift_objects(clock: Clock) -> Seeded:
    found: Seeded = [(kinds.CLUSTER_VERSIONS, cluster_version(clock))]
    for name, (ns, degraded) in CLUSTER_OPERATORS.items():
        found.append((kinds.CLUSTER_OPERATORS, cluster_operator(clock, name, ns, degraded)))
    found.append((kinds.IMAGE_STREAMS, must_gather_image_stream(clock)))
    found.append(
        (
            kinds.CLUSTER_SERVICE_VERSIONS,
            csv(
                "openshift-mtv",
                "mtv-operator.v2.8.0",
                "Migration Toolkit for Virtualization",
                "2.8.0",
                f"{builtin.FORKLIFT_MUST_GATHER}:latest",
            ),
        )
    )
    found.append(
        (
            kinds.CLUSTER_SERVICE_VERSIONS,
            csv(
                "openshift-cnv",
                "kubevirt-hyperconverged-operator.v4.18.3",
                "OpenShift Virtualization",
                "4.18.3",
                f"{builtin.CNV_MUST_GATHER}:v4.18",
            ),
        )
    )
    found += platform_pods(clock)
    return found
