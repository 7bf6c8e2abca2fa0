"""The OpenShift default-image stand-in, run as a real process against a fake API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubesim.images import builtin
from support.fakeapi import Served, fake_api, run_image

__all__ = ["fake_api"]
IMAGE = builtin.ORIGIN_MUST_GATHER


def load(path: Path) -> dict[str, Any]:
    loaded = json.loads(path.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.asyncio
async def test_gather_writes_the_inspect_tree(tmp_path: Path, fake_api: Served) -> None:
    ran = await run_image(tmp_path, IMAGE, "/usr/bin/gather", port=fake_api.port)
    assert ran.code == 0, ran.stderr
    out = ran.out
    assert (out / "version").read_text().splitlines() == ["openshift/must-gather", "4.18.0"]
    assert "Gathering data for ns/openshift-etcd..." in ran.stdout
    for rel in (
        "cluster-scoped-resources/core/nodes/master-0.yaml",
        "cluster-scoped-resources/core/nodes/worker-1.yaml",
        "cluster-scoped-resources/core/namespaces/openshift-mtv.yaml",
        "cluster-scoped-resources/config.openshift.io/clusterversions/version.yaml",
        "cluster-scoped-resources/config.openshift.io/clusteroperators/etcd.yaml",
        "namespaces/openshift-etcd/openshift-etcd.yaml",
        "namespaces/openshift-etcd/core/pods.yaml",
        "namespaces/openshift-etcd/core/events.yaml",
        "namespaces/openshift-etcd/core/configmaps.yaml",
        "namespaces/openshift-etcd/core/endpoints.yaml",
        "namespaces/openshift-etcd/apps/replicasets.yaml",
        "namespaces/openshift-etcd/batch/jobs.yaml",
        "namespaces/openshift-etcd/policy/poddisruptionbudgets.yaml",
        "namespaces/openshift-etcd/pods/etcd-master-0/etcd-master-0.yaml",
        "timestamp",
    ):
        assert (out / rel).is_file(), rel
    node = load(out / "cluster-scoped-resources/core/nodes/master-0.yaml")
    assert node["kind"] == "Node" and node["apiVersion"] == "v1"
    pods = load(out / "namespaces/openshift-etcd/core/pods.yaml")
    assert pods["kind"] == "PodList"
    # The config.openshift.io list files omg reads, beside the per-object files.
    config = out / "cluster-scoped-resources/config.openshift.io"
    operators = load(config / "clusteroperators.yaml")
    assert operators["kind"] == "ClusterOperatorList"
    names = sorted(o["metadata"]["name"] for o in operators["items"])
    assert names == sorted(p.stem for p in (config / "clusteroperators").glob("*.yaml"))
    assert len(names) > 1 and {o["kind"] for o in operators["items"]} == {"ClusterOperator"}
    versions = load(config / "clusterversions.yaml")
    assert [v["metadata"]["name"] for v in versions["items"]] == ["version"]
    log = out / "namespaces/openshift-etcd/pods/etcd-master-0/etcd/etcd/logs/current.log"
    lines = log.read_text().splitlines()
    assert len(lines) == 4 and "starting member" in lines[0]
    assert lines[0].split(" ", 1)[0].endswith("Z")  # asked with timestamps=true
    # Namespaces come from the fixed list and from the clusteroperators' relatedObjects.
    assert (out / "namespaces/openshift-dns/pods/dns-default-4xk2m").is_dir()
    assert not (out / "namespaces/openshift-mtv").exists()


@pytest.mark.asyncio
async def test_secret_values_never_reach_the_output(tmp_path: Path, fake_api: Served) -> None:
    store = fake_api.api.store
    from kubesim import kinds

    store.create(
        kinds.SECRETS,
        {
            "metadata": {"name": "etcd-client", "namespace": "openshift-etcd"},
            "data": {"tls.key": "c3VwZXItc2VjcmV0LWtleQ=="},
        },
    )
    ran = await run_image(tmp_path, IMAGE, "/usr/bin/gather", port=fake_api.port)
    assert ran.code == 0
    secrets = load(ran.out / "namespaces/openshift-etcd/core/secrets.yaml")
    assert secrets["items"] == [
        {
            "metadata": secrets["items"][0]["metadata"],
            "type": "Opaque",
            # oc's elision: "16 bytes long" (the decoded length), base64-encoded
            "data": {"tls.key": "MTYgYnl0ZXMgbG9uZw=="},
        }
    ]
    for path in ran.out.rglob("*"):
        if path.is_file():
            assert b"c3VwZXItc2VjcmV0LWtleQ" not in path.read_bytes(), path


@pytest.mark.asyncio
async def test_since_is_passed_to_logs_and_filters_events(tmp_path: Path, fake_api: Served) -> None:
    ran = await run_image(
        tmp_path, IMAGE, "/usr/bin/gather", port=fake_api.port, env={"MUST_GATHER_SINCE": "1h0m0s"}
    )
    assert ran.code == 0, ran.stderr
    log_queries = [q for path, q in fake_api.api.requests if path.endswith("/log")]
    assert log_queries and all(q.get("sinceSeconds") == "3600" for q in log_queries)
    events = load(ran.out / "namespaces/openshift-etcd/core/events.yaml")["items"]
    assert [e["reason"] for e in events] == ["Unhealthy"]
    log = ran.out / "namespaces/openshift-etcd/pods/etcd-master-0/etcd/etcd/logs/current.log"
    assert len(log.read_text().splitlines()) == 2


@pytest.mark.asyncio
async def test_since_time_wins_over_since(tmp_path: Path, fake_api: Served) -> None:
    env = {"MUST_GATHER_SINCE": "1h", "MUST_GATHER_SINCE_TIME": "2020-01-01T00:00:00Z"}
    ran = await run_image(tmp_path, IMAGE, "/usr/bin/gather", port=fake_api.port, env=env)
    assert ran.code == 0, ran.stderr
    log_queries = [q for path, q in fake_api.api.requests if path.endswith("/log")]
    assert all(q == {**q, "sinceTime": "2020-01-01T00:00:00Z"} for q in log_queries)
    assert all("sinceSeconds" not in q for q in log_queries)
    events = load(ran.out / "namespaces/openshift-etcd/core/events.yaml")["items"]
    assert len(events) == 2


@pytest.mark.asyncio
async def test_a_bad_since_fails_with_a_message(tmp_path: Path, fake_api: Served) -> None:
    ran = await run_image(
        tmp_path, IMAGE, "/usr/bin/gather", port=fake_api.port, env={"MUST_GATHER_SINCE": "2 days"}
    )
    assert ran.code == 1
    assert "invalid duration" in ran.stderr


@pytest.mark.asyncio
async def test_api_errors_are_reported_and_the_gathering_goes_on(
    tmp_path: Path, fake_api: Served
) -> None:
    fake_api.api.fail_paths["/api/v1/namespaces/openshift-etcd/events"] = 500
    ran = await run_image(tmp_path, IMAGE, "/usr/bin/gather", port=fake_api.port)
    assert ran.code == 0
    assert "listing events in openshift-etcd" in ran.stderr
    assert (ran.out / "namespaces/openshift-etcd/core/pods.yaml").is_file()
    assert (ran.out / "namespaces/openshift-dns/core/events.yaml").is_file()


@pytest.mark.asyncio
async def test_without_a_reachable_api_it_still_writes_its_version(tmp_path: Path) -> None:
    ran = await run_image(tmp_path, IMAGE, "/usr/bin/gather", port=1)
    assert ran.code == 0
    assert (ran.out / "version").is_file()
    assert "error:" in ran.stderr
