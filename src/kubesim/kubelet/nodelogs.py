"""A node's host logs: a small simulated journal and ``/var/log``, and the journal query.

Every node's filesystem is ``<state_dir>/nodes/<node>/`` (the place hostPath volumes and the
simulated systemd-coredump use). Seeding writes, once per node:

- ``var/log/journal/kubesim-units.json``: the journal of the host services that
  openshift/must-gather's ``gather_service_logs`` asks for, one ``journalctl -o json``-like
  object a line (the binary journal only journald writes);
- on control-plane nodes, ``var/log/<server>/audit.log`` for the API servers whose audit logs
  ``gather_audit_logs`` downloads, a few ``audit.k8s.io/v1`` events in each.

The query answers what the kubelet's node log query answers on a systemd host, where it runs
``journalctl --utc --no-pager -o short-precise`` with the request's filters: the lines of the
asked units in time order, or ``-- No entries --`` when none match (an unknown unit is not an
error to journalctl).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

UNITS_JOURNAL = "var/log/journal/kubesim-units.json"
NO_ENTRIES = "-- No entries --\n"
# The units gather_service_logs collects by default (its GENERAL_SERVICES), with the
# identifier and pid each logs under on an OpenShift node (the kubelet runs as kubenswrapper).
SERVICES: dict[str, tuple[str, int, str]] = {
    "crio": ("crio", 1812, "Container Runtime Interface for OCI (CRI-O)"),
    "kubelet": ("kubenswrapper", 2430, "Kubernetes Kubelet"),
    "rpm-ostreed": ("rpm-ostree", 1290, "rpm-ostree System Management Daemon"),
    "ostree-finalize-staged": ("ostree", 1301, "OSTree Finalize Staged Deployment"),
    "machine-config-daemon-firstboot": (
        "machine-config-daemon",
        1402,
        "Machine Config Daemon Firstboot",
    ),
    "machine-config-daemon-host": ("machine-config-daemon", 1410, "Machine Config Daemon Initial"),
    "NetworkManager": ("NetworkManager", 1104, "Network Manager"),
    "openvswitch": ("systemd", 1, "Open vSwitch"),
    "ovs-configuration": (
        "configure-ovs.sh",
        1560,
        "Configures OVS with proper host networking configuration",
    ),
    "ovsdb-server": ("ovsdb-server", 1050, "Open vSwitch Database Unit"),
    "ovs-vswitchd": ("ovs-vswitchd", 1077, "Open vSwitch Forwarding Unit"),
}
# The API servers whose audit logs a control-plane node keeps under /var/log/<name>/.
AUDITED_SERVERS = ("kube-apiserver", "openshift-apiserver", "oauth-apiserver", "oauth-server")
_MESSAGES = (
    "{unit}: starting up",
    "{unit}: configuration loaded from /etc",
    "{unit}: serving on {node}",
    "{unit}: periodic check on {node} passed",
)


@dataclass(frozen=True)
class JournalQuery:
    """What journalctl is asked for; ``None`` leaves a filter out."""

    units: Sequence[str]
    since: datetime | None = None
    until: datetime | None = None
    tail: int | None = None
    pattern: str | None = None
    case_sensitive: bool = True
    boot: int | None = None


def is_control_plane(labels: dict[str, Any]) -> bool:
    return any(
        key in labels
        for key in ("node-role.kubernetes.io/master", "node-role.kubernetes.io/control-plane")
    )


def _usec(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _entries(node: str, now: datetime) -> Iterable[dict[str, str]]:
    start = now - timedelta(hours=2)
    for index, (unit, (identifier, pid, description)) in enumerate(SERVICES.items()):
        moment = start + timedelta(seconds=index * 7, microseconds=index * 1013)
        yield {
            "__REALTIME_TIMESTAMP": str(_usec(moment)),
            "_HOSTNAME": node,
            "SYSLOG_IDENTIFIER": "systemd",
            "_PID": "1",
            "UNIT": f"{unit}.service",
            "MESSAGE": f"Started {description}.",
        }
        for step, message in enumerate(_MESSAGES, start=1):
            yield {
                "__REALTIME_TIMESTAMP": str(_usec(moment + timedelta(minutes=25 * step))),
                "_HOSTNAME": node,
                "SYSLOG_IDENTIFIER": identifier,
                "_PID": str(pid),
                "_SYSTEMD_UNIT": f"{unit}.service",
                "MESSAGE": message.format(unit=unit, node=node),
            }


def _audit_event(server: str, node: str, moment: datetime, index: int) -> dict[str, Any]:
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    resource, namespace = (("pods", "openshift-etcd"), ("configmaps", "openshift-config"))[
        index % 2
    ]
    return {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{node}/{server}/{index}")),
        "stage": "ResponseComplete",
        "requestURI": f"/api/v1/namespaces/{namespace}/{resource}?limit=500",
        "verb": "list",
        "user": {
            "username": "system:serviceaccount:openshift-etcd-operator:etcd-operator",
            "groups": ["system:serviceaccounts", "system:authenticated"],
        },
        "sourceIPs": ["10.0.0.3"],
        "userAgent": f"cluster-etcd-operator/v0.0.0 ({server})",
        "objectRef": {"resource": resource, "namespace": namespace, "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": stamp,
        "stageTimestamp": stamp,
        "annotations": {
            "authorization.k8s.io/decision": "allow",
            "authorization.k8s.io/reason": 'RBAC: allowed by ClusterRoleBinding "cluster-admin"',
        },
    }


def seed(node_root: Path, node: str, *, control_plane: bool, now: datetime | None = None) -> None:
    """Writes the node's journal and audit logs unless they are there already.

    Blocking: call it in a thread.
    """
    journal = node_root / UNITS_JOURNAL
    if journal.exists():
        return
    now = now or datetime.now(UTC)
    if control_plane:
        for position, server in enumerate(AUDITED_SERVERS):
            directory = node_root / "var/log" / server
            directory.mkdir(parents=True, exist_ok=True)
            count = 3 if server == "kube-apiserver" else 1
            lines = [
                json.dumps(_audit_event(server, node, now - timedelta(minutes=position + i), i))
                for i in range(count)
            ]
            (directory / "audit.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (node_root / "var/log/etcd").mkdir(parents=True, exist_ok=True)
    journal.parent.mkdir(parents=True, exist_ok=True)
    partial = journal.with_name(journal.name + ".partial")
    with partial.open("w", encoding="utf-8") as file:
        for entry in _entries(node, now):
            file.write(json.dumps(entry) + "\n")
    partial.rename(journal)  # the marker of a seeded node appears whole or not at all


def _unit_of(entry: dict[str, Any]) -> str:
    unit = str(entry.get("_SYSTEMD_UNIT") or entry.get("UNIT") or "")
    return unit.removesuffix(".service")


def _line(entry: dict[str, Any]) -> str:
    moment = datetime.fromtimestamp(int(entry["__REALTIME_TIMESTAMP"]) / 1_000_000, UTC)
    identifier = entry.get("SYSLOG_IDENTIFIER", "unknown")
    pid = entry.get("_PID")
    who = f"{identifier}[{pid}]" if pid else str(identifier)
    host = entry.get("_HOSTNAME", "")
    return f"{moment.strftime('%b %d %H:%M:%S.%f')} {host} {who}: {entry.get('MESSAGE', '')}\n"


def query(node_root: Path, wanted: JournalQuery) -> str:
    """The journal lines of the units asked for, as ``journalctl -o short-precise`` prints them.

    Blocking: call it in a thread.
    """
    journal = node_root / UNITS_JOURNAL
    if wanted.boot not in (None, 0) or not journal.is_file():
        return NO_ENTRIES  # one boot only: older boots have no entries
    units = {u.removesuffix(".service") for u in wanted.units}
    flags = 0 if wanted.case_sensitive else re.IGNORECASE
    pattern = re.compile(wanted.pattern, flags) if wanted.pattern else None
    since = _usec(wanted.since) if wanted.since else None
    until = _usec(wanted.until) if wanted.until else None
    kept: list[tuple[int, str]] = []
    with journal.open(encoding="utf-8") as file:
        for raw in file:
            entry = json.loads(raw)
            stamp = int(entry["__REALTIME_TIMESTAMP"])
            if units and _unit_of(entry) not in units:
                continue
            if (since is not None and stamp < since) or (until is not None and stamp > until):
                continue
            if pattern is not None and not pattern.search(str(entry.get("MESSAGE", ""))):
                continue
            kept.append((stamp, _line(entry)))
    kept.sort(key=lambda item: item[0])
    if wanted.tail is not None:
        kept = kept[-wanted.tail :] if wanted.tail else []
    if not kept:
        return NO_ENTRIES
    return "".join(line for _, line in kept)
