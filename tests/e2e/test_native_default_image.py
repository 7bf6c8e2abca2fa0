"""The native executor runs OpenShift's default must-gather image against kubesim."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from kubesim.cluster import Cluster
from kubesim.kubelet.nodelogs import SERVICES
from kubesim.seed.core import MASTERS
from support.native import Lines, executor_for, image_dirs, job, leftovers

pytestmark = pytest.mark.timeout(120)


@pytest.mark.asyncio
async def test_the_default_image_completes_with_ocs_tree(kubesim: Cluster, tmp_path: Path) -> None:
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path)
    output = Lines()

    outcome = await executor.run(gathering, output)

    assert outcome.succeeded, f"{outcome.error_reason}\n{output.text}"
    work = gathering.work_dir
    assert {"must-gather.logs", "timestamp", "event-filter.html"} <= {
        p.name for p in work.iterdir()
    }
    [image_dir] = image_dirs(work)
    assert image_dir.name.startswith("quay-io-openshift-origin-must-gather-sha256-")
    assert (image_dir / "gather.logs").read_text().strip()
    assert (image_dir / "version").read_text().startswith("openshift/must-gather\n")
    assert (image_dir / "cluster-scoped-resources/core/nodes/master-0.yaml").is_file()
    assert len((work / "timestamp").read_text().splitlines()) == 2
    page = (work / "event-filter.html").read_text()
    assert "<script src" not in page and "http://" not in page and "https://" not in page
    assert "FailedScheduling" in page or "<tr" in page
    text = output.text
    assert "[must-gather      ] OUT " in text
    assert "Using must-gather plug-in image: quay.io/openshift/origin-must-gather:latest" in text
    assert " POD " in text
    logs = (work / "must-gather.logs").read_text()
    assert "namespace/openshift-must-gather-" in logs and " POD " not in logs
    assert leftovers(kubesim) == []
    _check_host_service_logs(image_dir)


def _check_host_service_logs(image_dir: Path) -> None:
    """gather_service_logs master: one file per GENERAL_SERVICES unit, every master's lines."""
    folder = image_dir / "host_service_logs" / "masters"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{u}_service.log" for u in SERVICES)
    for unit, (identifier, pid, _description) in SERVICES.items():
        lines = (folder / f"{unit}_service.log").read_text().splitlines()
        assert len(lines) == 5 * len(MASTERS), unit
        assert lines == sorted(lines), unit  # oc --unify merges the nodes' lines in order
        own = [line for line in lines if f" {identifier}[{pid}]: {unit}: " in line]
        assert len(own) == 4 * len(MASTERS), unit
        assert sum(line.endswith(".") and " systemd[1]: Started " in line for line in lines) == len(
            MASTERS
        )
        for master in MASTERS:
            assert sum(f" {master} " in line for line in lines) == 5, (unit, master)


@pytest.mark.asyncio
async def test_gather_audit_logs_downloads_every_masters_audit_logs(
    kubesim: Cluster, tmp_path: Path
) -> None:
    executor = await executor_for(kubesim, tmp_path)
    # kubesim serves no apiservers object, so, like the real script, it needs --force.
    gathering = job(tmp_path, command="/usr/bin/gather_audit_logs --force")
    output = Lines()

    outcome = await executor.run(gathering, output)

    assert outcome.succeeded, f"{outcome.error_reason}\n{output.text}"
    [image_dir] = image_dirs(gathering.work_dir)
    audit = image_dir / "audit_logs"
    assert sorted(p.name for p in audit.iterdir()) == sorted(
        [
            *(f"{s}.audit_logs_listing" for s in _AUDITED),
            *_AUDITED,
        ]
    )
    for server in _AUDITED:
        listing = (audit / f"{server}.audit_logs_listing").read_text().splitlines()
        files = sorted(p.name for p in (audit / server).iterdir())
        if server == "etcd":
            assert listing == [] and files == []
            continue
        assert listing == [f"{m} audit.log" for m in MASTERS]
        assert files == [f"{m}-audit.log.gz" for m in MASTERS]
        for master in MASTERS:
            lines = gzip.decompress((audit / server / f"{master}-audit.log.gz").read_bytes())
            events = [json.loads(line) for line in lines.splitlines()]
            assert len(events) == (3 if server == "kube-apiserver" else 1)
            assert {e["apiVersion"] for e in events} == {"audit.k8s.io/v1"}
    assert "WARNING: the cluster's audit profile" in output.text
    assert leftovers(kubesim) == []


_AUDITED = ("openshift-apiserver", "kube-apiserver", "oauth-apiserver", "etcd", "oauth-server")
