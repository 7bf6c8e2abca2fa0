"""``/usr/bin/gather`` of the stand-in for OpenShift's default must-gather image."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from kubesim_gather.api import ApiClient, ApiError
from kubesim_gather.container import must_gather_dir, say, warn, write_version
from kubesim_gather.inspect import (
    CLUSTER_OPERATORS,
    CLUSTER_VERSIONS,
    NAMESPACES,
    NODES,
    Inspector,
)
from kubesim_gather.since import BadSince, Since

PRODUCT = "openshift/must-gather"
DEFAULT_VERSION = "4.18.0"
# The namespaces the real gather always inspects; the clusteroperators add theirs.
ALWAYS_INSPECTED = (
    "openshift-cluster-version",
    "default",
    "openshift",
    "kube-system",
    "openshift-etcd",
)


def _stamp(out: Path) -> None:
    with (out / "timestamp").open("a", encoding="utf-8") as f:
        f.write(datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f +0000 UTC") + "\n")


def related_namespaces(operators: list[dict[str, object]]) -> list[str]:
    found: list[str] = []
    for operator in operators:
        status = operator.get("status")
        related = status.get("relatedObjects") if isinstance(status, dict) else None
        for ref in related if isinstance(related, list) else []:
            if not isinstance(ref, dict):
                continue
            if ref.get("resource") == "namespaces" and not ref.get("group"):
                name = ref.get("name")
            else:
                name = ref.get("namespace")
            if isinstance(name, str) and name and name not in found:
                found.append(name)
    return found


def main() -> int:
    out = must_gather_dir()
    write_version(PRODUCT, os.environ.get("OS_GIT_VERSION") or DEFAULT_VERSION)
    try:
        since = Since.from_environment()
        client = ApiClient.from_environment()
    except (BadSince, ApiError) as e:
        warn(f"error: {e}")
        return 1
    _stamp(out)
    say(f"Gathering cluster data ({since.describe()}) into {out.name}/")
    inspector = Inspector(client=client, out=out, since=since)
    for resource in (NODES, NAMESPACES):
        inspector.cluster_objects(resource)
    # The config.openshift.io types: objects and list files, as oc adm inspect writes them.
    inspector.cluster_objects(CLUSTER_VERSIONS, list_file=True)
    operators = inspector.cluster_objects(CLUSTER_OPERATORS, list_file=True)
    wanted = list(ALWAYS_INSPECTED)
    wanted += [ns for ns in related_namespaces(list(operators)) if ns not in wanted]
    gathered = [ns for ns in wanted if inspector.namespace(ns)]
    _stamp(out)
    say(f"Wrote inspect data to must-gather ({len(gathered)} namespaces).")
    if inspector.errors:
        say(f"gathering completed with {len(inspector.errors)} errors (see stderr)")
    # The real gather exits 0 even when parts of it failed.
    return 0
