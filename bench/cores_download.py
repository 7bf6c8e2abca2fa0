"""10. Core downloads: a 2 GiB core from ``GET /apiv1/cores/download/<node>/<id>`` against
nginx serving the same file with sendfile, and ``?decompress=true`` of a 1 GiB core against
``zstd -d`` of the same file to /dev/null; curl as the client, alternating runs.

The service runs as a process with kubesim's admin kubeconfig (its own identity reads the
cores through a node pod, as in a cluster); kubesim runs in this process, its node pods as
local processes, so the exec stream's hops (service, API server, node pod) all share the
machine's two cores with curl and the peer.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench import serving
from bench.download import curl, ensure_nginx, start_nginx
from bench.reporting import MIB, ratio, summary
from bench.tools import ensure_debian_tool
from kubesim import kinds
from kubesim.cluster import Cluster, ClusterOptions
from kubesim.kubelet.coredumps import Crash, record
from kubesim.kubelet.rootfs import node_root

NODE = "node-000"
POD_NAMESPACE = "must-gather-api"
ZSTD = "/usr/bin/zstd"
GOAL_RATIO = 0.8


def _crash(pid: int, core_bytes: int) -> Crash:
    return Crash(
        node=NODE,
        namespace="team-a",
        pod=f"app-{pid}",
        pod_uid=f"00000000-0000-4000-8000-{pid:012x}",
        container="app",
        restart_count=0,
        image="quay.io/example/app:1",
        argv=["/usr/bin/app"],
        env={"CORE_BYTES": str(core_bytes)},
        pid=pid,
        signal_number=11,
        container_id=f"cri-o://{pid:064x}",
    )


def write_cores(state: Path, large: int, compressible: int) -> tuple[Path, Path]:
    """A core whose file holds ``large`` incompressible bytes (the download), and one that
    decompresses to ``compressible`` bytes (blocking)."""
    root = node_root(state, NODE)
    big = record(root, _crash(1001, 4096))
    block = os.urandom(64 * MIB)
    with big.open("r+b") as file:  # rewritten in place: the xattrs stay
        file.truncate(0)
        left = large
        while left:
            left -= file.write(block[: min(left, len(block))])
    return big, record(root, _crash(1002, compressible))


async def zstd_seconds(path: Path) -> float:
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        ZSTD, "-d", "-q", "-c", str(path), stdout=asyncio.subprocess.DEVNULL
    )
    async with asyncio.timeout(300):
        await process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"zstd -d failed with {process.returncode}")
    return time.perf_counter() - started


async def run(work: Path, *, quick: bool) -> dict[str, Any]:
    large = (512 if quick else 2048) * MIB
    compressible = (256 if quick else 1024) * MIB
    runs = 3 if quick else 5
    why_no_nginx = await ensure_nginx()
    why_no_zstd = await ensure_debian_tool(ZSTD, "zstd")
    options = ClusterOptions(state_dir=work / "kubesim", seed=False)
    ours: list[float] = []
    peer: list[float] = []
    unpacked: list[float] = []
    unpacked_peer: list[float] = []
    async with Cluster(options) as cluster:
        cluster.store.create(kinds.NAMESPACES, {"metadata": {"name": POD_NAMESPACE}})
        cluster.store.create(
            kinds.NODES,
            {
                "metadata": {"name": NODE, "labels": {"kubernetes.io/hostname": NODE}},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]},
            },
        )
        big, packed = await asyncio.to_thread(write_cores, options.state_dir, large, compressible)
        settings = {
            "USE_KUBECONFIG": "true",
            "KUBECONFIG": str(cluster.kubeconfig_path),
            "CORES_POD_NAMESPACE": POD_NAMESPACE,
            "CORES_NODE_TIMEOUT": "600s",
        }
        async with serving.running(work / "service", **settings) as service:
            base = f"{service.url}/apiv1/cores/download/{NODE}"
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{service.url}/apiv1/cores") as response,
            ):
                listed = {core["id"] for core in await response.json()}
            assert listed == {big.name, packed.name}, listed
            size, _ = await curl(f"{base}/{big.name}")  # the node pod's image is pulled
            assert size == large, size
            nginx = None if why_no_nginx else await start_nginx(work / "nginx", big)
            try:
                for _ in range(runs):
                    size, seconds = await curl(f"{base}/{big.name}")
                    ours.append(size / seconds / 1e6)
                    if nginx is not None:
                        size, seconds = await curl(nginx[1])
                        peer.append(size / seconds / 1e6)
                    size, seconds = await curl(f"{base}/{packed.name}?decompress=true")
                    assert size == compressible, size
                    unpacked.append(size / seconds / 1e6)
                    if why_no_zstd is None:
                        unpacked_peer.append(compressible / await zstd_seconds(packed) / 1e6)
            finally:
                if nginx is not None:
                    nginx[0].terminate()
                    await nginx[0].wait()
    await asyncio.to_thread(shutil.rmtree, options.state_dir, ignore_errors=True)
    result: dict[str, Any] = {
        "sizes": {"download_bytes": large, "decompressed_bytes": compressible},
        "runs": runs,
        "service_mb_per_s": summary(ours, digits=1),
        "nginx_mb_per_s": summary(peer, digits=1) if peer else {"skipped": why_no_nginx},
        "decompress_mb_per_s": summary(unpacked, digits=1),
        "zstd_mb_per_s": (
            summary(unpacked_peer, digits=1) if unpacked_peer else {"skipped": why_no_zstd}
        ),
    }
    result["ratio"] = ratio(
        result["service_mb_per_s"]["median"], summary(peer)["median"] if peer else None
    )
    result["decompress_ratio"] = ratio(
        result["decompress_mb_per_s"]["median"],
        summary(unpacked_peer)["median"] if unpacked_peer else None,
    )
    result["goal"] = f"download ratio >= {GOAL_RATIO} (decompression: reported, no goal)"
    result["met"] = bool(result["ratio"] is not None and result["ratio"] >= GOAL_RATIO)
    return result


def row(result: dict[str, Any]) -> list[str]:
    return [
        "cores_download",
        f"{result['service_mb_per_s']['median']} MB/s; decompress "
        f"{result['decompress_mb_per_s']['median']} MB/s",
        f"{result['nginx_mb_per_s'].get('median', 'skipped')} MB/s (nginx); "
        f"{result['zstd_mb_per_s'].get('median', 'skipped')} MB/s (zstd -d)",
        f"{result['ratio']} / {result['decompress_ratio']}",
        f"{result['sizes']['download_bytes'] // MIB} MiB core, "
        f"{result['sizes']['decompressed_bytes'] // MIB} MiB decompressed",
        "yes" if result["met"] else "no",
    ]
