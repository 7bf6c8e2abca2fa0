"""Each image run by a real kubesim (API server + kubelet), in an ``oc adm must-gather`` pod."""

from __future__ import annotations

import asyncio
import io
import ssl
import tarfile
import time
from typing import Any

import aiohttp
import pytest

from kubesim.auth import ADMIN_TOKEN
from kubesim.cluster import Cluster
from kubesim.images import builtin
from kubesim.kubelet.rootfs import PodDirs

NAMESPACE = "default"
BINDING = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRoleBinding",
    "metadata": {"name": "must-gather-test"},
    "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "cluster-admin",
    },
    "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": NAMESPACE}],
}


def gather_pod(image: str, command: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    mount = [{"name": "must-gather-output", "mountPath": "/must-gather"}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "must-gather-", "namespace": NAMESPACE},
        "spec": {
            "restartPolicy": "Never",
            "tolerations": [{"operator": "Exists"}],
            "volumes": [{"name": "must-gather-output", "emptyDir": {}}],
            "containers": [
                {
                    "name": "gather",
                    "image": image,
                    "command": ["/bin/bash", "-c", command],
                    "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
                    "volumeMounts": mount,
                },
                {
                    "name": "copy",
                    "image": image,
                    "command": ["/bin/bash", "-c", "trap : TERM INT; sleep infinity & wait"],
                    "volumeMounts": mount,
                },
            ],
        },
    }


async def run_gather_pod(
    cluster: Cluster, pod: dict[str, Any], *, deadline: float = 45
) -> tuple[dict[str, Any], str]:
    """Creates the pod, waits for ``gather`` to terminate; returns its state and its log."""
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    base = f"{cluster.url}/api/v1/namespaces/{NAMESPACE}/pods"
    connector = aiohttp.TCPConnector(ssl=context)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        # As oc does: the namespace's default account gets cluster-admin.
        async with session.post(
            f"{cluster.url}/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", json=BINDING
        ) as response:
            assert response.status in (201, 409), await response.text()
        async with session.post(base, json=pod) as response:
            assert response.status == 201, await response.text()
            name = (await response.json())["metadata"]["name"]
        end = time.monotonic() + deadline
        while True:
            async with session.get(f"{base}/{name}") as response:
                current = await response.json()
            statuses = current.get("status", {}).get("containerStatuses") or []
            gather = [s for s in statuses if s["name"] == "gather"]
            if gather and "terminated" in gather[0].get("state", {}):
                break
            assert time.monotonic() < end, f"gather did not finish: {current.get('status')}"
            await asyncio.sleep(0.1)
        async with session.get(f"{base}/{name}/log", params={"container": "gather"}) as response:
            log = await response.text()
    return current, log


def volume_of(cluster: Cluster, pod: dict[str, Any]) -> Any:
    return PodDirs.for_pod(cluster.options.state_dir, pod).volume("must-gather-output")


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_the_openshift_image_gathers_the_cluster(kubesim: Cluster) -> None:
    pod, log = await run_gather_pod(
        kubesim, gather_pod(f"{builtin.ORIGIN_MUST_GATHER}:latest", "/usr/bin/gather")
    )
    gather = next(s for s in pod["status"]["containerStatuses"] if s["name"] == "gather")
    assert gather["state"]["terminated"]["exitCode"] == 0, log
    out = volume_of(kubesim, pod)
    assert (out / "version").read_text().startswith("openshift/must-gather\n")
    assert (out / "cluster-scoped-resources/core/nodes/master-0.yaml").is_file()
    etcd_log = out / "namespaces/openshift-etcd/pods/etcd-master-0/etcd/etcd/logs/current.log"
    assert etcd_log.is_file()
    assert "Gathering data for ns/openshift-etcd..." in log


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_the_forklift_image_targets_a_plan(kubesim: Cluster) -> None:
    image = f"{builtin.FORKLIFT_MUST_GATHER}:latest"
    pod, log = await run_gather_pod(
        kubesim, gather_pod(image, "PLAN=prod-cold-migration /usr/bin/targeted")
    )
    gather = next(s for s in pod["status"]["containerStatuses"] if s["name"] == "gather")
    assert gather["state"]["terminated"]["exitCode"] == 0, log
    archive = volume_of(kubesim, pod) / "must-gather.tar.gz"
    with tarfile.open(fileobj=io.BytesIO(archive.read_bytes()), mode="r:gz") as tar:
        names = tar.getnames()
    assert "must-gather/namespaces/openshift-mtv/crs/plan/prod-cold-migration.yaml" in names


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_the_forklift_image_fails_on_an_unknown_plan(kubesim: Cluster) -> None:
    image = f"{builtin.FORKLIFT_MUST_GATHER}:latest"
    pod, log = await run_gather_pod(kubesim, gather_pod(image, "PLAN=nope /usr/bin/targeted"))
    gather = next(s for s in pod["status"]["containerStatuses"] if s["name"] == "gather")
    assert gather["state"]["terminated"]["exitCode"] == 1
    assert "ERROR: No resources matching the criteria were found" in log


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_the_failing_image_exits_1(kubesim: Cluster) -> None:
    pod, _ = await run_gather_pod(kubesim, gather_pod(builtin.FAILS_HALFWAY, "/usr/bin/gather"))
    gather = next(s for s in pod["status"]["containerStatuses"] if s["name"] == "gather")
    assert gather["state"]["terminated"]["exitCode"] == 1
    assert (volume_of(kubesim, pod) / "version").is_file()
