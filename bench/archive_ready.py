"""2. From gather end to archive ready: the service's copy, extraction and packing of a pod's
1 GiB of log-like text, against ``kubectl cp`` of the same kind of pod directory plus
``tar czf`` of the result (what a person does by hand), alternating runs.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench import gathering, serving
from bench.reporting import GIB, MIB, ratio, summary
from kubesim import kinds
from kubesim.cluster import Cluster

KUBECTL = "/usr/bin/kubectl"
PEER_POD = "peer"


def peer_pod(size: int) -> dict[str, Any]:
    mount = [{"name": "out", "mountPath": "/must-gather"}]
    return {
        "metadata": {"name": PEER_POD, "namespace": "default"},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "volumes": [{"name": "out", "emptyDir": {}}],
            "containers": [
                {
                    "name": "gather",
                    "image": gathering.IMAGE,
                    "command": ["python3", str(gathering.GENERATOR), "/must-gather", str(size)],
                    "volumeMounts": mount,
                },
                {
                    "name": "copy",
                    "image": gathering.IMAGE,
                    "command": ["/bin/bash", "-c", "trap : TERM INT; sleep infinity & wait"],
                    "volumeMounts": mount,
                },
            ],
        },
    }


async def peer_ready(cluster: Cluster, size: int) -> None:
    async with asyncio.timeout(600), cluster.store.watch(kinds.PODS) as watch:
        cluster.store.create(kinds.PODS, peer_pod(size))
        async for _, pod in watch:
            if pod["metadata"]["name"] != PEER_POD:
                continue
            for status in pod.get("status", {}).get("containerStatuses", []):
                ended = status.get("state", {}).get("terminated")
                if status["name"] == "gather" and ended is not None:
                    if ended["exitCode"] != 0:
                        raise RuntimeError(f"the peer pod's generator failed: {ended}")
                    return


async def timed(*command: str, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(1800):
        _, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {err.decode()[-500:]}")
    return time.perf_counter() - started


async def by_hand(cluster: Cluster, work: Path) -> dict[str, float]:
    """``kubectl cp`` of the pod's directory, then ``tar czf`` of it; seconds of each."""
    home = work / "home"
    home.mkdir(exist_ok=True)
    kubeconfig = cluster.write_kubeconfig(home / "kubeconfig")
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "KUBECONFIG": str(kubeconfig)}
    copied, packed = work / "copied", work / "by-hand.tar.gz"
    try:
        cp = await timed(
            KUBECTL, "cp", "-c", "copy", f"default/{PEER_POD}:/must-gather", str(copied), env=env
        )
        tar = await timed("tar", "czf", str(packed), "-C", str(copied), ".")
        return {"kubectl_cp": round(cp, 3), "tar_czf": round(tar, 3), "total": round(cp + tar, 3)}
    finally:
        shutil.rmtree(copied, ignore_errors=True)
        packed.unlink(missing_ok=True)


async def run(work: Path, *, quick: bool) -> dict[str, Any]:
    size = 256 * MIB if quick else GIB
    runs = 1 if quick else 5
    ours: list[dict[str, Any]] = []
    peer: list[dict[str, float]] = []
    async with gathering.simulated(work) as (cluster, kubeconfig):
        await peer_ready(cluster, size)
        settings = gathering.service_settings(kubeconfig)
        async with (
            serving.running(work / "service", **settings) as service,
            gathering.watching(cluster) as ends,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session,
        ):
            for _ in range(runs):
                ours.append(
                    await gathering.one_gathering(session, service, ends, size, within=1800)
                )
                peer.append(await by_hand(cluster, work))
    ours_summary = summary([r["seconds"] for r in ours], digits=3)
    peer_summary = summary([p["total"] for p in peer], digits=3)
    peak = max(r["peak_rss_bytes"] for r in ours)
    result = {
        "sizes": {"payload_bytes": size},
        "runs": runs,
        "service_seconds": ours_summary,
        "peer_seconds": peer_summary,
        "ratio": ratio(ours_summary["median"], peer_summary["median"]),
        "service_runs": ours,
        "peer_runs": peer,
        "service_peak_rss_bytes": peak,
        "goal": "ratio <= 0.15 (service time / peer time); peak RSS <= 200 MB",
    }
    result["met"] = bool(result["ratio"] is not None and result["ratio"] <= 0.15 and peak <= 200e6)
    return result


def row(result: dict[str, Any]) -> list[str]:
    return [
        "gather end -> archive",
        f"{result['service_seconds']['median']} s",
        f"{result['peer_seconds']['median']} s (kubectl cp + tar czf)",
        str(result["ratio"]),
        f"peak RSS {result['service_peak_rss_bytes'] // MIB} MiB",
        "yes" if result["met"] else "no",
    ]
