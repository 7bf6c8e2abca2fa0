"""Findings over real gatherings of kubesim clusters with known faults, through the API."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest

from kubesim import kinds
from kubesim.auth import ADMIN_TOKEN
from kubesim.cluster import Cluster
from kubesim.pytest_plugin import ClusterFactory
from kubesim.seed import faults
from must_gather_api.app import create_app
from must_gather_api.cli.demo import provision_service_account
from support.native import FORKLIFT, ORIGIN
from support.service import make_settings

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(180)]
HEADERS = {"authorization": f"Bearer {ADMIN_TOKEN}"}


@asynccontextmanager
async def service(cluster: Cluster, tmp_path: Path) -> AsyncIterator[httpx2.AsyncClient]:
    kubeconfig = provision_service_account(cluster, tmp_path)
    settings = make_settings(
        tmp_path, auth="kubernetes", use_kubeconfig="true", kubeconfig=str(kubeconfig)
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(
            transport=transport, base_url="http://service", headers=HEADERS
        ) as client:
            yield client


async def gather(client: httpx2.AsyncClient, image: str) -> dict[str, Any]:
    created = await client.post("/must-gather", json={"image": image, "timeout": "90s"})
    assert created.status_code == 201, created.text
    for _ in range(1200):
        body: dict[str, Any] = (await client.get(f"/must-gather/{created.json()['id']}")).json()
        if body["status"] in ("completed", "error"):
            assert body["status"] == "completed", body["exec-output"][-2000:]
            return body
        await asyncio.sleep(0.05)  # polling the API as its clients do
    raise AssertionError("the gathering did not end")


async def findings(client: httpx2.AsyncClient, gathering: dict[str, Any]) -> list[dict[str, Any]]:
    summary = (await client.get(f"/must-gather/{gathering['id']}/summary")).json()
    assert summary["counts"] == gathering["summary"]
    assert summary["analyzer-errors"] == []
    listed: list[dict[str, Any]] = summary["findings"]
    # Every piece of evidence is a member that /files lists.
    members = (
        await client.get(f"/must-gather/{gathering['id']}/files", params={"limit": 100000})
    ).json()
    paths = {item["path"] for item in members["items"]}
    for finding in listed:
        assert set(finding["evidence"]) <= paths, finding
    return listed


def only(found: list[dict[str, Any]], area: str, object_: str) -> dict[str, Any]:
    matching = [f for f in found if f["area"] == area and f["object"] == object_]
    assert len(matching) == 1, (area, object_, found)
    return matching[0]


async def test_each_seeded_fault_is_found_once_with_its_evidence(
    kubesim_factory: ClusterFactory, tmp_path: Path
) -> None:
    cluster = await kubesim_factory(seed_faults=True)
    async with service(cluster, tmp_path) as client:
        origin = await gather(client, ORIGIN)
        found = await findings(client, origin)
        [product] = origin["products"]
        assert product["product"] == "openshift/must-gather"
        image = product["path"].removesuffix("/version")

        operator = only(found, "operators", f"ClusterOperator/{faults.DEGRADED_OPERATOR}")
        assert operator["severity"] == "error"
        assert "1 of 3 oauth-openshift pods are crash-looping" in operator["message"]
        assert operator["evidence"] == [
            f"{image}/cluster-scoped-resources/config.openshift.io/clusteroperators/"
            f"{faults.DEGRADED_OPERATOR}.yaml"
        ]
        node = only(found, "nodes", f"Node/{faults.NOT_READY_NODE}")
        assert (node["severity"], node["reason"]) == ("error", "NotReady")
        assert node["evidence"] == [
            f"{image}/cluster-scoped-resources/core/nodes/{faults.NOT_READY_NODE}.yaml"
        ]
        pod = only(found, "pods", f"Pod/default/{faults.CRASHING_POD}")
        assert (pod["severity"], pod["reason"]) == ("error", "CrashLoopBackOff")
        assert "7 restarts" in pod["message"]
        assert pod["details"][-1].endswith(
            "panic: open /etc/gateway/routes.yaml: no such file or directory"
        )
        pod_dir = f"{image}/namespaces/default/pods/{faults.CRASHING_POD}"
        assert sorted(pod["evidence"]) == sorted(
            [
                f"{image}/namespaces/default/core/pods.yaml",
                f"{pod_dir}/{faults.CRASHING_POD}.yaml",
                f"{pod_dir}/gateway/gateway/logs/current.log",
                f"{pod_dir}/gateway/gateway/logs/previous.log",
            ]
        )
        cert = only(
            found,
            "certificates",
            f"ConfigMap/openshift-kube-apiserver/{faults.EXPIRING_CONFIG_MAP}",
        )
        assert (cert["severity"], cert["reason"]) == ("warning", "ExpiresSoon")
        assert f"in {faults.EXPIRING_DAYS} days" in cert["message"]
        assert cert["evidence"] == [
            f"{image}/namespaces/openshift-kube-apiserver/core/configmaps.yaml"
        ]
        # The evidence is served as the archive has it.
        served = await client.get(f"/must-gather/{origin['id']}/files/{node['evidence'][0]}")
        assert b"Kubelet stopped posting node status." in served.content

        forklift = await gather(client, FORKLIFT)
        found = await findings(client, forklift)
        plan = only(found, "forklift", f"Plan/openshift-mtv/{faults.FAILED_PLAN}")
        assert plan["severity"] == "error"
        assert "step DiskTransfer: Unable to connect to vddk data source." in plan["message"]
        crs = "must-gather/namespaces/openshift-mtv/crs"
        assert plan["evidence"] == [
            f"{crs}/plans.forklift.konveyor.io/{faults.FAILED_PLAN}.yaml",
            f"{crs}/migrations.forklift.konveyor.io/{faults.FAILED_PLAN}-m4x7k.yaml",
        ]
        assert Counter(f["area"] for f in found if f["severity"] == "error") == {"forklift": 1}


async def test_a_healthy_cluster_has_no_error_findings(kubesim: Cluster, tmp_path: Path) -> None:
    # The default seed's one fault (a degraded image-registry) repaired.
    registry = kubesim.store.get(kinds.CLUSTER_OPERATORS, "image-registry")
    for condition in registry["status"]["conditions"]:
        if condition["type"] == "Degraded":
            condition.update(status="False", message="")
    kubesim.store.replace(kinds.CLUSTER_OPERATORS, registry)
    async with service(kubesim, tmp_path) as client:
        origin = await gather(client, ORIGIN)
        found = await findings(client, origin)
        assert origin["summary"]["error"] == 0, [f for f in found if f["severity"] == "error"]
        assert [f["reason"] for f in found if f["area"] == "cluster-version"] == ["Version"]
