"""The real kubectl against kubesim's node log proxy (``nodes/proxy`` to the kubelet's /logs)."""

from __future__ import annotations

import json
import re

import pytest

from kubesim.auth import USER_TOKEN
from kubesim.cluster import Cluster
from kubesim.kubelet.nodelogs import SERVICES
from kubesim.pytest_plugin import KubectlRunner

pytestmark = [pytest.mark.kubectl, pytest.mark.timeout(90)]

BASE = "/api/v1/nodes/master-0/proxy/logs"
# journalctl -o short-precise with --utc: "Dec 04 15:30:00.123456 host ident[pid]: message".
SHORT_PRECISE = re.compile(r"^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d\.\d{6} master-0 \S+: .+$")


@pytest.mark.asyncio
async def test_unit_query_returns_that_units_journal_lines(
    kubesim: Cluster, kubectl: KubectlRunner
) -> None:
    result = (await kubectl(kubesim, "get", "--raw", f"{BASE}/?query=kubelet")).check()
    lines = result.stdout.splitlines()
    assert len(lines) == 5  # systemd's start line and four of the kubelet's own
    assert all(SHORT_PRECISE.match(line) for line in lines), lines
    assert lines[0].endswith("systemd[1]: Started Kubernetes Kubelet.")
    assert sum(" kubenswrapper[2430]: kubelet: " in line for line in lines) == 4

    tail = (await kubectl(kubesim, "get", "--raw", f"{BASE}/?query=kubelet&tailLines=2")).check()
    assert tail.stdout.splitlines() == lines[-2:]

    both = (await kubectl(kubesim, "get", "--raw", f"{BASE}/?query=crio&query=kubelet")).check()
    assert len(both.stdout.splitlines()) == 10

    unknown = (await kubectl(kubesim, "get", "--raw", f"{BASE}/?query=no-such-unit")).check()
    assert unknown.stdout == "-- No entries --\n"


@pytest.mark.asyncio
async def test_oc_journal_path_takes_ocs_parameters(
    kubesim: Cluster, kubectl: KubectlRunner
) -> None:
    # What `oc adm node-logs master-0 -u NetworkManager --since=-7d --tail=3` asks for.
    path = f"{BASE}/journal?since=-7d&unit=NetworkManager&query=NetworkManager&tail=3&tailLines=3"
    result = (await kubectl(kubesim, "get", "--raw", path)).check()
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert all(" NetworkManager[1104]: NetworkManager: " in line for line in lines)

    ahead = f"{BASE}/journal?since=%2B1h&unit=crio"
    future = (await kubectl(kubesim, "get", "--raw", ahead)).check()
    assert future.stdout == "-- No entries --\n"


@pytest.mark.asyncio
async def test_listing_and_files_under_var_log(kubesim: Cluster, kubectl: KubectlRunner) -> None:
    top = (await kubectl(kubesim, "get", "--raw", f"{BASE}/")).check()
    assert '<a href="kube-apiserver/">kube-apiserver/</a>' in top.stdout
    assert '<a href="journal/">journal/</a>' in top.stdout

    # Named without the trailing slash, a directory redirects to its listing (kubectl follows).
    listing = (await kubectl(kubesim, "get", "--raw", f"{BASE}/kube-apiserver")).check()
    assert re.findall(r'<a href="([^"]+)">', listing.stdout) == ["audit.log"]

    audit = (await kubectl(kubesim, "get", "--raw", f"{BASE}/kube-apiserver/audit.log")).check()
    events = [json.loads(line) for line in audit.stdout.splitlines()]
    assert len(events) == 3
    assert {e["apiVersion"] for e in events} == {"audit.k8s.io/v1"}
    assert {e["kind"] for e in events} == {"Event"}
    assert all(e["stage"] == "ResponseComplete" and e["auditID"] for e in events)

    worker = (await kubectl(kubesim, "get", "--raw", "/api/v1/nodes/worker-0/proxy/logs/")).check()
    assert "kube-apiserver" not in worker.stdout  # only control-plane nodes keep audit logs

    missing = await kubectl(kubesim, "get", "--raw", f"{BASE}/no-such.log")
    assert missing.returncode == 1
    assert "NotFound" in missing.stderr


@pytest.mark.asyncio
async def test_get_on_nodes_proxy_is_required(kubesim: Cluster, kubectl: KubectlRunner) -> None:
    result = await kubectl(kubesim, "get", "--raw", f"{BASE}/?query=kubelet", token=USER_TOKEN)
    assert result.returncode == 1
    assert (
        'nodes "master-0" is forbidden: User "developer" cannot get resource "nodes/proxy" '
        'in API group "" at the cluster scope'
    ) in result.stderr
    assert "kubenswrapper" not in result.stdout


def test_the_seeded_units_are_gather_service_logs_general_services() -> None:
    # GENERAL_SERVICES in openshift/must-gather collection-scripts/gather_service_logs.
    assert list(SERVICES) == [
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
    ]


@pytest.mark.asyncio
async def test_discovery_lists_nodes_proxy(kubesim: Cluster, kubectl: KubectlRunner) -> None:
    body = json.loads((await kubectl(kubesim, "get", "--raw", "/api/v1")).check().stdout)
    [proxy] = [r for r in body["resources"] if r["name"] == "nodes/proxy"]
    assert proxy["kind"] == "NodeProxyOptions"
    assert proxy["verbs"] == ["create", "delete", "get", "patch", "update"]
