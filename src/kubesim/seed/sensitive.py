"""Data a shared archive must not carry, seeded where the stand-in images gather it.

For tests of redaction (and the demo): the nodes get DNS names in the cluster's domain
(``CLUSTER_DOMAIN``), an IPv6 address and the MAC address of their primary interface (in
OVN-Kubernetes' annotations, as on a real cluster); an application in ``default`` logs
addresses in every spelling, subdomains of the customer's domain and MACs; a ConfigMap holds
a password and a pod's log a bearer token. UUIDs and API groups such as
``apps.openshift.io`` appear beside them, to be left alone. Off by default
(``ClusterOptions.seed_sensitive``); the demo turns it on.
"""

from __future__ import annotations

import json
from typing import Any

from kubesim import kinds
from kubesim.kinds import Kind
from kubesim.seed.objects import Clock, StaticContainer, config_map, static_pod

CLUSTER_DOMAIN = "demo.acme-corp.example"
CUSTOMER_DOMAIN = "acme-corp.example"
PASSWORD = "Tr0ub4dor-acme"  # noqa: S105 - fake, for tests of redaction
TOKEN = "sha256~acmeSecretTokenValue0123456789"  # noqa: S105 - fake, as above
APP_POD = "billing-api-5d7f8b9c4-q8w2z"
NAMESPACE = "default"  # inspected by every stand-in gather


def node_mac(index: int) -> str:
    return f"fa:16:3e:00:00:{index:02x}"


def node_ipv6(index: int) -> str:
    return f"fd00:10:0:1::{10 + index:x}"


def enrich_nodes(found: list[tuple[Kind, dict[str, Any]]]) -> None:
    """Give the seeded nodes the names, addresses and MACs a real cluster's nodes have."""
    index = 0
    for kind, obj in found:
        if kind is not kinds.NODES:
            continue
        name = obj["metadata"]["name"]
        ip = next(
            (a["address"] for a in obj["status"]["addresses"] if a["type"] == "InternalIP"), ""
        )
        obj["status"]["addresses"] += [
            {"type": "InternalDNS", "address": f"{name}.{CLUSTER_DOMAIN}"},
            {"type": "InternalIP", "address": node_ipv6(index)},
        ]
        obj["metadata"]["annotations"].update(
            {
                "k8s.ovn.org/node-primary-ifaddr": json.dumps({"ipv4": f"{ip}/24"}),
                "k8s.ovn.org/l3-gateway-config": json.dumps(
                    {"default": {"mode": "shared", "mac-address": node_mac(index)}}
                ),
                "machine.openshift.io/machine": f"openshift-machine-api/{name}",
            }
        )
        index += 1


def sensitive_objects(clock: Clock) -> list[tuple[Kind, dict[str, Any]]]:
    ns = NAMESPACE
    lines: list[tuple[float, str]] = [
        (120, f"listening on 10.131.0.42:8443 and [{node_ipv6(0)}]:8443"),
        (110, f"peer ip-10-0-0-11.{CLUSTER_DOMAIN} (10-0-0-11, 10_0_0_11) joined"),
        (100, f"calling https://payments.{CUSTOMER_DOMAIN}/v1 from 192.168.77.5"),
        (90, f"arp: 10.0.0.12 is-at {node_mac(2).upper()}; gateway {node_mac(0)}"),
        (80, f"Authorization: Bearer {TOKEN}"),
        (70, "request 123e4567-e89b-12d3-a456-426614174000 via apps.openshift.io ok"),
        (60, "health from 127.0.0.1 and ::1 ok"),
    ]
    app = static_pod(
        clock,
        ns,
        APP_POD,
        node="worker-1",
        labels={"app": "billing-api"},
        containers=[StaticContainer("api", "docker.io/library/busybox:latest", lines)],
        pod_ip="10.131.0.42",
        host_ip="10.0.0.14",
    )
    settings = config_map(
        ns,
        "billing-api-settings",
        {"DATABASE_URL": f"postgres://billing:{PASSWORD}@db.{CUSTOMER_DOMAIN}:5432/billing"},
    )
    return [(kinds.PODS, app), (kinds.CONFIG_MAPS, settings)]
