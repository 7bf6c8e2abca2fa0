"""``/usr/bin/gather`` of the stand-in for OpenShift's default must-gather image."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from kubesim_gather.api import ApiClient, ApiError
from kubesim_gather.container import must_gather_dir, say, warn, write_version
from kubesim_gather.hostlogs import collect_audit_logs, collect_service_logs, masters
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
    # gather_service_logs master: every master's journal of each host service.
    try:
        collect_service_logs(client, out, masters(client))
    except ApiError as e:
        warn(f"error: {e}")
    _stamp(out)
    say(f"Wrote inspect data to must-gather ({len(gathered)} namespaces).")
    if inspector.errors:
        say(f"gathering completed with {len(inspector.errors)} errors (see stderr)")
    # The real gather exits 0 even when parts of it failed.
    return 0


# gather_audit_logs refuses a cluster whose audit profile is unset or None (its logs would
# hold nothing to analyse) unless --force is given; then it only warns.
_PROFILE_MISSING = (
    "{level}: the cluster's audit profile (spec.audit.profile of the apiservers object) is "
    "unset or None, so its audit logs hold no events support can analyse: set it to Default, "
    "WriteRequestBodies or AllRequestBodies and reproduce the issue{hint}"
)


def _audit_profile(client: ApiClient) -> str:
    try:
        items = client.list_items("/apis/config.openshift.io/v1/apiservers")
    except ApiError:
        return ""
    spec = items[0].get("spec") if items else None
    audit = spec.get("audit") if isinstance(spec, dict) else None
    profile = audit.get("profile") if isinstance(audit, dict) else None
    return profile if isinstance(profile, str) else ""


def audit_main(argv: list[str]) -> int:
    """``/usr/bin/gather_audit_logs [--force]``: every master's API server audit logs."""
    out = must_gather_dir()
    try:
        client = ApiClient.from_environment()
    except ApiError as e:
        warn(f"error: {e}")
        return 1
    profile = _audit_profile(client)
    if profile in ("", "None"):
        force = argv[:1] == ["--force"]
        level = "WARNING" if force else "ERROR"
        hint = "." if force else ", or run with --force to collect them anyway."
        say(_PROFILE_MISSING.format(level=level, hint=hint))
        if not force:
            return 1
    warn("WARNING: downloading the audit logs of every master; this can take a long time.")
    try:
        collect_audit_logs(client, out, masters(client))
    except ApiError as e:
        warn(f"error: {e}")
    say("INFO: audit logs downloaded.")
    return 0
