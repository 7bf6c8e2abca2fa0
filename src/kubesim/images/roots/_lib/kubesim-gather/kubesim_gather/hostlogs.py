"""Node logs through the API server's node proxy, as ``oc adm node-logs`` fetches them.

Two collection scripts of openshift/must-gather use it: ``gather_service_logs`` (the journal
of each host service on every control-plane node, into
``host_service_logs/masters/<unit>_service.log``) and ``gather_audit_logs`` (each API server's
audit log files on every control-plane node, gzipped into
``audit_logs/<server>/<node>-<file>.gz``, beside the listing oc printed for that server in
``audit_logs/<server>.audit_logs_listing``).
"""

from __future__ import annotations

import gzip
import heapq
import os
import re
import urllib.parse
from pathlib import Path

from kubesim_gather.api import ApiClient, ApiError
from kubesim_gather.container import say, warn

# gather_service_logs' GENERAL_SERVICES, collected from the masters by default.
GENERAL_SERVICES = (
    "crio",
    "kubelet",
    "rpm-ostreed",
    "ostree-finalize-staged",
    "machine-config-daemon-firstboot",
    "machine-config-daemon-host",
    "NetworkManager",
    "openvswitch",
    "ovs-configuration",
    "ovsdb-server",
    "ovs-vswitchd",
)
# The /var/log folders gather_audit_logs downloads from every master.
AUDIT_PATHS = ("openshift-apiserver", "kube-apiserver", "oauth-apiserver", "etcd", "oauth-server")
_MASTER_ROLE = "node-role.kubernetes.io/master"
_LINK = re.compile(r'href="([^"]+)"')


def node_log_since() -> str:
    """The ``--since`` the scripts give node-logs: MUST_GATHER_SINCE(_TIME) reshaped, or -7d.

    common.sh keeps the first ``<digits><d|h|m|s>`` of the duration (``2h30m`` becomes
    ``-2h``) and turns the RFC 3339 time into journalctl's ``YYYY-MM-DD HH:MM:SS``.
    """
    since_time = os.environ.get("MUST_GATHER_SINCE_TIME", "")
    if since_time:
        return since_time.replace("T", " ", 1).replace("Z", "", 1)
    since = os.environ.get("MUST_GATHER_SINCE", "")
    if since:
        return "-" + re.sub(r"([0-9]*[dhms]).*", r"\1", since, count=1)
    return "-7d"


def masters(client: ApiClient) -> list[str]:
    """The nodes ``--role=master`` selects, in the API's order."""
    nodes = client.list_items("/api/v1/nodes", {"labelSelector": _MASTER_ROLE})
    return [str(n.get("metadata", {}).get("name", "")) for n in nodes]


def _logs_path(node: str, rest: str) -> str:
    return f"/api/v1/nodes/{urllib.parse.quote(node, safe='')}/proxy/logs/{rest}"


def _journal(client: ApiClient, node: str, unit: str, since: str) -> list[str]:
    query = {"since": since, "unit": unit, "query": unit}
    text = client.get_bytes(_logs_path(node, "journal"), query).decode("utf-8", "replace")
    return text.splitlines(keepends=True)


def collect_service_logs(
    client: ApiClient, out: Path, nodes: list[str], units: tuple[str, ...] = GENERAL_SERVICES
) -> int:
    """Writes each unit's journal from ``nodes``, merged line by line as oc's --unify does.

    Returns the number of failed node requests; a failed one leaves what the others gave.
    """
    directory = out / "host_service_logs" / "masters"
    directory.mkdir(parents=True, exist_ok=True)
    since = node_log_since()
    failures = 0
    for unit in units:
        say(f"INFO: collecting the host service log of {unit}")
        per_node: list[list[str]] = []
        for node in nodes:
            try:
                per_node.append(_journal(client, node, unit, since))
            except ApiError as e:
                failures += 1
                warn(f"error: {e}")
        with (directory / f"{unit}_service.log").open("w", encoding="utf-8") as file:
            file.writelines(heapq.merge(*per_node))
    return failures


def _listing(client: ApiClient, node: str, path: str) -> list[str]:
    body = client.get_bytes(_logs_path(node, f"{path}/")).decode("utf-8", "replace")
    if not body.startswith(("<pre>", "<!doctype html>")):
        return []
    return _LINK.findall(body)


def collect_audit_logs(client: ApiClient, out: Path, nodes: list[str]) -> int:
    """Downloads every master's audit log files; returns the number of failed requests."""
    failures = 0
    for path in AUDIT_PATHS:
        directory = out / "audit_logs" / path
        directory.mkdir(parents=True, exist_ok=True)
        listed: list[tuple[str, str]] = []
        for node in nodes:
            try:
                listed += [(node, name) for name in _listing(client, node, path)]
            except ApiError as e:
                failures += 1
                warn(f"error: {e}")
        listing = "".join(f"{node} {name}\n" for node, name in listed)
        (out / "audit_logs" / f"{path}.audit_logs_listing").write_text(listing, encoding="utf-8")
        for node, name in listed:
            if ".terminating" in name or ".lock" in name:
                continue
            say(f"INFO: downloading {path}/{name} from {node}")
            try:
                data = client.get_bytes(_logs_path(node, f"{path}/{name}"))
            except ApiError as e:
                failures += 1
                warn(f"error: {e}")
                data = b""
            (directory / f"{node}-{name}.gz").write_bytes(gzip.compress(data))
            say(f"INFO: downloaded {path}/{name} from {node}")
    return failures
