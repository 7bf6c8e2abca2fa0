"""The objects a new kubesim cluster starts with (docs/kubesim-images.md lists them).

Pods here are objects only, marked ``kubesim.io/static: "true"``: the kubelet neither
schedules nor runs them, and their logs come from ``kubesim.io/log.<container>`` (or
``kubesim.io/log``) annotations, one ``<RFC3339Nano> <text>`` line each.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubesim.kinds import Kind
from kubesim.seed.core import (
    PLAIN_NAMESPACES,
    kube_system,
    namespaces_with_accounts,
    nodes,
    user_workload,
)
from kubesim.seed.faults import fault_objects
from kubesim.seed.forklift import forklift_objects
from kubesim.seed.objects import LOG_ANNOTATION, STATIC_ANNOTATION, Clock, log_annotation
from kubesim.seed.openshift import OPENSHIFT_NAMESPACES, openshift_objects
from kubesim.seed.sensitive import enrich_nodes, sensitive_objects

__all__ = ["LOG_ANNOTATION", "STATIC_ANNOTATION", "log_annotation", "seed_objects"]


def seed_objects(
    *,
    openshift: bool,
    now: datetime | None = None,
    faults: bool = False,
    sensitive: bool = False,
) -> list[tuple[Kind, dict[str, Any]]]:
    """Objects in creation order: namespaces come before what they hold.

    ``now`` anchors every timestamp (heartbeats, events, log lines); default: the present.
    ``faults`` adds the known faults of ``kubesim.seed.faults`` (OpenShift only);
    ``sensitive`` the data a shared archive must not carry (``kubesim.seed.sensitive``).
    """
    clock = Clock(now or datetime.now(UTC))
    names = list(PLAIN_NAMESPACES) + (list(OPENSHIFT_NAMESPACES) if openshift else [])
    found = namespaces_with_accounts(names)
    found += nodes(clock)
    found += kube_system(clock)
    found += user_workload(clock)
    if openshift:
        found += openshift_objects(clock)
        found += forklift_objects(clock)
        if faults:
            found += fault_objects(clock)
    if sensitive:
        enrich_nodes(found)
        found += sensitive_objects(clock)
    return found
