"""8. `kubectl get pods -A` against `/must-gather/{id}/kube` of an archive of 10,000 pods,
against the same command on kubesim holding the same pods (an API server that has them in
memory); alternating runs, first (index and objects loading) reported apart.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from bench import serving
from bench.member_read import archived_tree
from bench.reporting import ratio, summary
from kubesim import kinds
from kubesim.cluster import Cluster, ClusterOptions

KUBECTL = "/usr/bin/kubectl"
NAMESPACES = 50


def pod(namespace: str, index: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"pod-{index}",
            "namespace": namespace,
            "labels": {"app": f"app-{index % 7}"},
            "creationTimestamp": "2026-12-01T00:00:00Z",
        },
        "spec": {
            "nodeName": f"worker-{index % 5}",
            "containers": [{"name": "main", "image": "quay.io/example/app:1"}],
        },
        "status": {
            "phase": "Running",
            "podIP": f"10.128.{index // 250}.{index % 250}",
            "containerStatuses": [
                {"name": "main", "ready": True, "restartCount": index % 3, "state": {"running": {}}}
            ],
        },
    }


def write_tree(root: Path, pods: int) -> list[dict[str, Any]]:
    """As the stand-in images write them: a JSON list per namespace in `core/pods.yaml`."""
    made = []
    per = pods // NAMESPACES
    for n in range(NAMESPACES):
        items = [pod(f"ns-{n}", i) for i in range(per)]
        made += items
        folder = root / "image" / "namespaces" / f"ns-{n}" / "core"
        folder.mkdir(parents=True)
        body = {"apiVersion": "v1", "kind": "PodList", "items": items}
        (folder / "pods.yaml").write_text(json.dumps(body, indent=2))
    return made


def kubeconfig(path: Path, server: str) -> Path:
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "a", "cluster": {"server": server}}],
                "users": [{"name": "a", "user": {}}],
                "contexts": [{"name": "a", "context": {"cluster": "a", "user": "a"}}],
                "current-context": "a",
            }
        )
    )
    return path


async def get_pods(config: Path, home: Path) -> tuple[float, int]:
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        KUBECTL,
        "--kubeconfig",
        str(config),
        "get",
        "pods",
        "-A",
        env={"PATH": os.environ["PATH"], "HOME": str(home)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()[-2000:]
    return time.perf_counter() - started, len(out.splitlines()) - 1


async def run(work: Path, *, quick: bool) -> dict[str, Any]:
    pods = 2000 if quick else 10000
    runs = 3 if quick else 5
    made = write_tree(work / "tree" / "must-gather", pods)
    gathering_id, _packed = await archived_tree(work / "state", work / "tree" / "must-gather")
    home = work / "home"
    home.mkdir()
    ours: list[float] = []
    peer: list[float] = []
    async with (
        serving.running(work / "state") as service,
        Cluster(ClusterOptions(state_dir=work / "kubesim", kubelet=False, seed=False)) as cluster,
    ):
        for n in range(NAMESPACES):
            cluster.store.create(kinds.NAMESPACES, {"metadata": {"name": f"ns-{n}"}})
        for item in made:
            cluster.store.create(kinds.PODS, item)
        archive_config = kubeconfig(
            home / "archive.kubeconfig", f"{service.url}/must-gather/{gathering_id}/kube"
        )
        cluster_config = cluster.write_kubeconfig(home / "kubesim.kubeconfig")
        first, listed = await get_pods(archive_config, home)
        assert listed == pods, listed
        for _ in range(runs):
            ours.append((await get_pods(archive_config, home))[0])
            seconds, listed = await get_pods(cluster_config, home)
            assert listed == pods, listed
            peer.append(seconds)
    result: dict[str, Any] = {
        "pods": pods,
        "runs": runs,
        "first_seconds": round(first, 3),
        "service_seconds": summary(ours, digits=3),
        "kubesim_seconds": summary(peer, digits=3),
    }
    result["ratio"] = ratio(result["service_seconds"]["median"], summary(peer)["median"])
    result["goal"] = "ratio <= 1.5"
    result["met"] = bool(result["ratio"] is not None and result["ratio"] <= 1.5)
    return result


def row(result: dict[str, Any]) -> list[str]:
    return [
        "kube_get",
        f"{result['service_seconds']['median']} s",
        f"{result['kubesim_seconds']['median']} s (kubesim)",
        str(result["ratio"]),
        f"kubectl get pods -A, {result['pods']} pods; first {result['first_seconds']} s",
        "yes" if result["met"] else "no",
    ]
