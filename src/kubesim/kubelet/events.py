"""Events about pods, recorded into the store as the scheduler and the kubelet write them."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from kubesim import kinds
from kubesim.errors import KubesimError
from kubesim.store import Store, now_rfc3339

log = logging.getLogger(__name__)

SCHEDULER = "default-scheduler"
KUBELET = "kubelet"


def record(
    store: Store,
    pod: Mapping[str, Any],
    reason: str,
    message: str,
    *,
    warning: bool = False,
    container: str | None = None,
    component: str = KUBELET,
    host: str | None = None,
) -> None:
    """Creates one Event; a namespace being deleted just loses it, as in a real cluster."""
    meta = pod["metadata"]
    now = now_rfc3339()
    involved: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "name": meta["name"],
        "namespace": meta.get("namespace", "default"),
        "uid": meta.get("uid", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    if container is not None:
        involved["fieldPath"] = f"spec.containers{{{container}}}"
    source: dict[str, Any] = {"component": component}
    if host:
        source["host"] = host
    event = {
        "metadata": {
            "name": f"{meta['name']}.{uuid.uuid4().hex[:16]}",
            "namespace": meta.get("namespace", "default"),
        },
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "source": source,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "type": "Warning" if warning else "Normal",
        "eventTime": None,
        "reportingComponent": component,
        "reportingInstance": host or "",
    }
    try:
        store.create(kinds.EVENTS, event)
    except KubesimError as e:
        log.debug("event %s for pod %s dropped: %s", reason, meta["name"], e)
