"""The node's simulated journal and the /var/log file server behind ``nodes/proxy/logs``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kubesim.kubelet import nodelogs, varlog
from kubesim.kubelet.nodelogs import JournalQuery

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


@pytest.fixture
def node(tmp_path: Path) -> Path:
    root = tmp_path / "nodes" / "master-0"
    nodelogs.seed(root, "master-0", control_plane=True, now=NOW)
    return root


def test_seeding_twice_changes_nothing(node: Path) -> None:
    journal = node / nodelogs.UNITS_JOURNAL
    before = journal.read_bytes()
    nodelogs.seed(node, "master-0", control_plane=True, now=NOW + timedelta(days=1))
    assert journal.read_bytes() == before
    assert len(before.splitlines()) == 5 * len(nodelogs.SERVICES)


def test_audit_logs_only_on_control_plane_nodes(tmp_path: Path, node: Path) -> None:
    for server in nodelogs.AUDITED_SERVERS:
        lines = (node / "var/log" / server / "audit.log").read_text().splitlines()
        assert len(lines) == (3 if server == "kube-apiserver" else 1)
        assert all(json.loads(line)["apiVersion"] == "audit.k8s.io/v1" for line in lines)
    worker = tmp_path / "nodes" / "worker-0"
    nodelogs.seed(worker, "worker-0", control_plane=False, now=NOW)
    assert sorted(p.name for p in (worker / "var/log").iterdir()) == ["journal"]


def test_query_filters_by_time_pattern_and_boot(node: Path) -> None:
    everything = nodelogs.query(node, JournalQuery(units=["kubelet.service"]))
    assert len(everything.splitlines()) == 5
    late = nodelogs.query(node, JournalQuery(units=["kubelet"], since=NOW - timedelta(minutes=30)))
    assert len(late.splitlines()) == 1
    early = nodelogs.query(node, JournalQuery(units=["kubelet"], until=NOW - timedelta(hours=1)))
    assert len(early.splitlines()) == 3
    matched = nodelogs.query(
        node, JournalQuery(units=["kubelet"], pattern="PERIODIC", case_sensitive=False)
    )
    assert len(matched.splitlines()) == 1
    assert nodelogs.query(node, JournalQuery(units=["kubelet"], boot=-1)) == nodelogs.NO_ENTRIES
    assert nodelogs.query(node, JournalQuery(units=["kubelet"], tail=0)) == nodelogs.NO_ENTRIES


def test_files_listings_and_redirects(node: Path) -> None:
    log_root = node / "var/log"
    listing = varlog.serve(log_root, "kube-apiserver/")
    assert listing.status == 200
    assert listing.content_type.startswith("text/html")
    assert b'<a href="audit.log">audit.log</a>' in listing.body
    assert varlog.serve(log_root, "kube-apiserver").location == "kube-apiserver/"
    assert varlog.serve(log_root, "kube-apiserver/audit.log/").location == "../audit.log"
    audit = varlog.serve(log_root, "kube-apiserver/audit.log")
    assert audit.body == (log_root / "kube-apiserver/audit.log").read_bytes()
    assert varlog.serve(log_root, "missing.log").status == 404


@pytest.mark.parametrize(
    "requested", ["../../../etc/passwd", "kube-apiserver/../../x", "/etc/passwd", "a//b", "./x"]
)
def test_paths_that_leave_or_dodge_var_log_are_refused(node: Path, requested: str) -> None:
    with pytest.raises(varlog.RefusedPath):
        varlog.serve(node / "var/log", requested)


def test_symlinks_out_of_var_log_are_missing(tmp_path: Path, node: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("token")
    (node / "var/log" / "escape.log").symlink_to(secret)
    (node / "var/log" / "escape-dir").symlink_to(tmp_path)
    assert varlog.serve(node / "var/log", "escape.log").status == 404
    assert varlog.serve(node / "var/log", "escape-dir/").status == 404
    (node / "var/log" / "inside.log").symlink_to(node / "var/log/kube-apiserver/audit.log")
    assert varlog.serve(node / "var/log", "inside.log").status == 200
