"""The real kubectl against `/must-gather/{id}/kube`: a finished gathering read as a cluster."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import pytest_asyncio
import yaml

from kubesim.cluster import Cluster
from kubesim.pytest_plugin import ClusterFactory, kubectl_binary
from kubesim.seed import faults
from support.native import executor_for
from support.service import make_settings, served_app

pytestmark = [pytest.mark.asyncio, pytest.mark.kubectl, pytest.mark.timeout(180)]
TOKEN = "any-token"  # AUTH=none here; kubectl sends it all the same


@dataclass
class Served:
    url: str
    home: Path
    kubeconfig: Path
    tree: dict[str, bytes]  # the archive's members, for comparing

    async def kubectl(self, *args: str, check: bool = True) -> Done:
        """kubectl as its own process (the service answers in this test's event loop)."""
        binary = kubectl_binary()
        assert binary is not None
        process = await asyncio.create_subprocess_exec(
            binary,
            "--kubeconfig",
            str(self.kubeconfig),
            *args,
            env={"PATH": os.environ["PATH"], "HOME": str(self.home)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(60):
            out, err = await process.communicate()
        done = Done(process.returncode or 0, out.decode(), err.decode())
        if check:
            assert done.returncode == 0, (args, done.stderr)
        return done


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


async def _gathered(client: httpx2.AsyncClient) -> int:
    created = (
        await client.post("/must-gather", json={"image": "quay.io/openshift/origin-must-gather"})
    ).json()
    for _ in range(1200):
        body = (await client.get(f"/must-gather/{created['id']}")).json()
        if body["status"] in ("completed", "error"):
            assert body["status"] == "completed", body["exec-output"][-2000:]
            return int(body["id"])
        await asyncio.sleep(0.05)  # polling the API as its clients do
    raise AssertionError("the gathering did not end")


@pytest_asyncio.fixture
async def served(kubesim_factory: ClusterFactory, tmp_path: Path) -> AsyncIterator[Served]:
    if kubectl_binary() is None:
        pytest.skip("kubectl is not installed")
    cluster: Cluster = await kubesim_factory(seed_faults=True)
    executor = await executor_for(cluster, tmp_path)
    async with served_app(make_settings(tmp_path), executor=executor) as url:
        async with httpx2.AsyncClient(base_url=url, timeout=30) as client:
            gathering = await _gathered(client)
        home = tmp_path / "home"
        home.mkdir()
        made = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "must_gather_api",
                "kubeconfig",
                str(gathering),
                "--server",
                url,
                "--token",
                TOKEN,
            ],
            env={"PATH": os.environ["PATH"], "HOME": str(home)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert made.returncode == 0, made.stderr
        kubeconfig = home / "kubeconfig"
        kubeconfig.write_text(made.stdout)
        archive = tmp_path / "data" / "gatherings" / str(gathering) / "archive"
        yield Served(url, home, kubeconfig, _members(archive))


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isreg()}  # type: ignore[union-attr]


def _one(tree: dict[str, bytes], suffix: str) -> Any:
    [path] = [p for p in tree if p.endswith(suffix)]
    return yaml.safe_load(tree[path])


async def test_kubectl_reads_the_archive_as_a_cluster(served: Served) -> None:
    pods = (await served.kubectl("get", "pods", "-A")).stdout.splitlines()
    assert pods[0].split() == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    crashing = next(line for line in pods if faults.CRASHING_POD in line).split()
    assert crashing[:5] == ["default", faults.CRASHING_POD, "0/1", "CrashLoopBackOff", "7"]

    operators = (await served.kubectl("get", "co")).stdout
    assert operators.splitlines()[0].split()[:5] == [
        "NAME",
        "VERSION",
        "AVAILABLE",
        "PROGRESSING",
        "DEGRADED",
    ]
    assert any(
        line.split()[:5] == [faults.DEGRADED_OPERATOR, "4.18.3", "True", "False", "True"]
        for line in operators.splitlines()
    )

    nodes = (await served.kubectl("get", "nodes", "-o", "wide")).stdout.splitlines()
    assert "INTERNAL-IP" in nodes[0] and "KERNEL-VERSION" in nodes[0]
    assert next(n for n in nodes if n.startswith(faults.NOT_READY_NODE)).split()[1] == "NotReady"

    shown = yaml.safe_load(
        (
            await served.kubectl("get", "pod", "-n", "default", faults.CRASHING_POD, "-o", "yaml")
        ).stdout
    )
    archived = _one(served.tree, f"/pods/{faults.CRASHING_POD}/{faults.CRASHING_POD}.yaml")
    assert shown == archived

    as_json = json.loads(
        (
            await served.kubectl(
                "get", "pods", "-n", "default", "-l", "app=api-gateway", "-o", "json"
            )
        ).stdout
    )
    assert [p["metadata"]["name"] for p in as_json["items"]] == [faults.CRASHING_POD]
    none = json.loads(
        (
            await served.kubectl(
                "get", "pods", "-A", "--field-selector", "spec.nodeName=nowhere", "-o", "json"
            )
        ).stdout
    )
    assert none["items"] == []

    described = (
        await served.kubectl("describe", "pod", "-n", "default", faults.CRASHING_POD)
    ).stdout
    assert "CrashLoopBackOff" in described and "Restart Count:  7" in described

    logs = (await served.kubectl("logs", "-n", "default", faults.CRASHING_POD)).stdout
    assert logs.endswith("panic: open /etc/gateway/routes.yaml: no such file or directory\n")
    assert not logs.startswith("20")  # no timestamps unless asked
    previous = (
        await served.kubectl(
            "logs", "-n", "default", faults.CRASHING_POD, "--previous", "--tail", "1"
        )
    ).stdout
    assert previous == "panic: open /etc/gateway/routes.yaml: no such file or directory\n"


async def test_writes_are_refused_and_missing_things_are_404(served: Served) -> None:
    deleted = await served.kubectl(
        "delete", "pod", "-n", "default", faults.CRASHING_POD, check=False
    )
    assert deleted.returncode != 0
    assert "this API serves an archive: it is read-only" in deleted.stderr, deleted.stderr
    manifest = served.home / "cm.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: default}\n"
    )
    applied = await served.kubectl("apply", "--validate=false", "-f", str(manifest), check=False)
    assert applied.returncode != 0, applied.stdout
    assert "(MethodNotAllowed)" in applied.stderr and "read-only" in applied.stderr
    missing = await served.kubectl("get", "pod", "-n", "default", "nope", check=False)
    assert missing.returncode != 0 and 'pods "nope" not found' in missing.stderr
    unknown = await served.kubectl("get", "routes", check=False)
    assert unknown.returncode != 0
