"""Exec stream throughput of kubesim: a 1 GiB tree through ``kubectl cp`` and through
kubernetes-asyncio's websocket exec (``tar cf -``), three runs each, alternating.

Run: ``.venv/bin/python bench/exec_throughput.py [--size-mib N] [--runs N]``. Results go to
``bench/results/exec_throughput.json`` and are printed as a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, cast

from kubernetes_asyncio import client, config
from kubernetes_asyncio.stream import WsApiClient

from kubesim import kinds
from kubesim.cluster import Cluster, ClusterOptions

RESULTS = Path(__file__).resolve().parent / "results" / "exec_throughput.json"
KUBECTL = "/usr/bin/kubectl"
MIB = 1024 * 1024

# Three quarters random (incompressible) files, one quarter klog-like text.
GENERATE = r"""
import os, sys
total = int(sys.argv[1]) * 1024 * 1024
random_bytes = total * 3 // 4
os.makedirs("/must-gather/random", exist_ok=True)
os.makedirs("/must-gather/text/namespaces/openshift-etcd/pods", exist_ok=True)
written = 0
i = 0
while written < random_bytes:
    size = min(64 * 1024 * 1024, random_bytes - written)
    with open(f"/must-gather/random/blob-{i:03d}.bin", "wb") as f:
        for _ in range(size // (1024 * 1024)):
            f.write(os.urandom(1024 * 1024))
        f.write(os.urandom(size % (1024 * 1024)))
    written += size
    i += 1
line = "I1121 10:00:00.000000       1 controller.go:123] synced object namespace/name-{n} rv={n}\n"
j = 0
while written < total:
    chunk = "".join(line.format(n=j * 10000 + k) for k in range(10000)).encode()
    chunk = chunk[: total - written]
    with open(f"/must-gather/text/namespaces/openshift-etcd/pods/log-{j:04d}.log", "wb") as f:
        f.write(chunk)
    written += len(chunk)
    j += 1
"""


def bench_pod(size_mib: int) -> dict[str, Any]:
    mount = [{"name": "out", "mountPath": "/must-gather"}]
    return {
        "metadata": {"name": "bench", "namespace": "default"},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "volumes": [{"name": "out", "emptyDir": {}}],
            "containers": [
                {
                    "name": "gather",
                    "image": "busybox",
                    "command": ["python3", "-c", GENERATE, str(size_mib)],
                    "volumeMounts": mount,
                },
                {
                    "name": "copy",
                    "image": "busybox",
                    "command": ["/bin/bash", "-c", "trap : TERM INT; sleep infinity & wait"],
                    "volumeMounts": mount,
                },
            ],
        },
    }


async def wait_gathered(cluster: Cluster) -> None:
    async with asyncio.timeout(600), cluster.store.watch(kinds.PODS) as watch:
        async for _, pod in watch:
            states = {
                s["name"]: s["state"] for s in pod.get("status", {}).get("containerStatuses", [])
            }
            gather = states.get("gather", {}).get("terminated")
            if gather is not None:
                if gather["exitCode"] != 0:
                    raise RuntimeError(f"generating the data failed: {gather}")
                return


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


async def kubectl_cp(cluster: Cluster, work: Path) -> float:
    home = work / "home"
    home.mkdir(exist_ok=True)
    kubeconfig = cluster.write_kubeconfig(home / "kubeconfig")
    dest = work / "copied"
    shutil.rmtree(dest, ignore_errors=True)
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "KUBECONFIG": str(kubeconfig)}
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        KUBECTL,
        "cp",
        "-c",
        "copy",
        "default/bench:/must-gather",
        str(dest),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(900):
        _, err = await process.communicate()
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"kubectl cp failed: {err.decode()}")
    shutil.rmtree(dest, ignore_errors=True)
    return elapsed


async def asyncio_exec(cfg: client.Configuration) -> tuple[float, int]:
    received = 0
    started = time.perf_counter()
    async with WsApiClient(cfg) as api:
        # The generated signature does not know the websocket client's ``_headers``.
        core: Any = client.CoreV1Api(api)
        ws: Any = await core.connect_get_namespaced_pod_exec(
            "bench",
            "default",
            container="copy",
            command=cast(Any, ["tar", "cf", "-", "/must-gather"]),
            stdout=True,
            stderr=True,
            stdin=False,
            tty=False,
            _preload_content=False,
            _headers={"sec-websocket-protocol": "v5.channel.k8s.io,v4.channel.k8s.io"},
        )
        status = b""
        async with ws as conn:
            async for msg in conn:
                if msg.data[0] == 1:
                    received += len(msg.data) - 1
                elif msg.data[0] == 3:
                    status = msg.data[1:]
    elapsed = time.perf_counter() - started
    if json.loads(status).get("status") != "Success":
        raise RuntimeError(f"exec failed: {status!r}")
    return elapsed, received


def summary(times: list[float], payload: int) -> dict[str, Any]:
    rates = [payload / t / 1e6 for t in times]
    return {
        "seconds": [round(t, 3) for t in times],
        "median_seconds": round(statistics.median(times), 3),
        "median_mb_per_s": round(statistics.median(rates), 1),
        "min_mb_per_s": round(min(rates), 1),
        "max_mb_per_s": round(max(rates), 1),
    }


async def main(size_mib: int, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="kubesim-bench-") as tmp:
        work = Path(tmp)
        async with Cluster(ClusterOptions(state_dir=work / "cluster")) as cluster:
            cluster.store.create(kinds.PODS, bench_pod(size_mib))
            print(f"generating {size_mib} MiB in the pod's emptyDir ...")
            await wait_gathered(cluster)
            volume = cluster.kubelet.workers[("default", "bench")].volumes["out"]
            payload = await asyncio.to_thread(tree_bytes, Path(volume))
            cfg = client.Configuration()
            await config.load_kube_config(
                config_file=str(cluster.write_kubeconfig(work / "kubeconfig")),
                client_configuration=cfg,
            )
            cp_times: list[float] = []
            exec_times: list[float] = []
            tar_bytes = 0
            for run in range(runs):
                cp_times.append(await kubectl_cp(cluster, work))
                elapsed, tar_bytes = await asyncio_exec(cfg)
                exec_times.append(elapsed)
                print(
                    f"run {run + 1}: kubectl cp {cp_times[-1]:.2f} s, asyncio exec {elapsed:.2f} s"
                )
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "payload_bytes": payload,
        "tar_bytes": tar_bytes,
        "runs": runs,
        "kubectl_cp": summary(cp_times, payload),
        "kubernetes_asyncio_exec_tar": summary(exec_times, tar_bytes),
    }


def print_table(result: dict[str, Any]) -> None:
    print(
        f"\npayload {result['payload_bytes'] / MIB:.0f} MiB, {result['runs']} runs, "
        f"{result['machine']['cpus']} CPUs"
    )
    print(f"{'path':<30} {'median s':>9} {'MB/s median':>12} {'MB/s min':>9} {'MB/s max':>9}")
    for name in ("kubectl_cp", "kubernetes_asyncio_exec_tar"):
        row = result[name]
        print(
            f"{name:<30} {row['median_seconds']:>9.2f} {row['median_mb_per_s']:>12.1f} "
            f"{row['min_mb_per_s']:>9.1f} {row['max_mb_per_s']:>9.1f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    outcome = asyncio.run(main(args.size_mib, args.runs))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(outcome, indent=2) + "\n")
    print_table(outcome)
    print(f"\nwritten to {RESULTS}")
