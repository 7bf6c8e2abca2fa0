"""Running the native executor against kubesim in tests: access, jobs, output, leftovers."""

from __future__ import annotations

import asyncio
import itertools
import tarfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from kubernetes_asyncio import client, config

from kubesim import kinds
from kubesim.cluster import Cluster
from must_gather_api.executors.base import Credentials, Job
from must_gather_api.executors.kubernetes import KubernetesExecutor
from must_gather_api.executors.kubernetes.executor import Timings
from must_gather_api.executors.kubernetes.namespaces import GATHERING_LABEL
from must_gather_api.kube.access import ClusterAccess
from must_gather_api.parameters import GatheringOptions
from support.service import make_settings

FAST = Timings(poll_interval=0.2, keep_alive_interval=0.5, cleanup_timeout=20.0)
ORIGIN = "quay.io/openshift/origin-must-gather:latest"
FORKLIFT = "quay.io/kubev2v/forklift-must-gather:latest"
_ids = itertools.count(1)


@dataclass
class Lines:
    """An Output that keeps what was printed."""

    lines: list[str] = field(default_factory=list)

    def line(self, text: str) -> None:
        self.lines.append(text)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


async def access_for(cluster: Cluster, tmp_path: Path) -> ClusterAccess:
    configuration = client.Configuration()
    kubeconfig = cluster.write_kubeconfig(tmp_path / "service-kubeconfig")
    await config.load_kube_config(
        config_file=str(kubeconfig), client_configuration=configuration, persist_config=False
    )
    return ClusterAccess(configuration=configuration)


async def executor_for(
    cluster: Cluster, tmp_path: Path, *, timings: Timings = FAST, **settings: Any
) -> KubernetesExecutor:
    settings.setdefault("gather_credentials", "service")
    settings.setdefault("cluster_request_timeout", "10s")
    settings.setdefault("gather_timeout_margin", "60s")
    return KubernetesExecutor(
        await access_for(cluster, tmp_path), make_settings(tmp_path, **settings), timings=timings
    )


def job(
    tmp_path: Path,
    *,
    images: tuple[str, ...] = (ORIGIN,),
    command: str = "",
    timeout: float = 60,
    token: str = "",
    **fields: Any,
) -> Job:
    gathering_id = next(_ids)
    work_dir = tmp_path / "gatherings" / str(gathering_id) / "work"
    work_dir.mkdir(parents=True)
    return Job(
        gathering_id=gathering_id,
        work_dir=work_dir,
        timeout=timedelta(seconds=timeout),
        options=GatheringOptions.of(images=images, command=command, **fields),
        credentials=Credentials(token=token, user="tester") if token else None,
    )


def clients_made(executor: KubernetesExecutor, monkeypatch: Any) -> list[client.ApiClient]:
    """Every API client ``executor`` makes from now on (to check each was closed)."""
    access = executor._access
    made: list[client.ApiClient] = []
    original = access.api_client

    def recording(**options: Any) -> client.ApiClient:
        api = original(**options)
        made.append(api)
        return api

    monkeypatch.setattr(access, "api_client", recording)
    return made


def closed(api: client.ApiClient) -> bool:
    return bool(api.rest_client.pool_manager.closed)


def leftovers(cluster: Cluster) -> list[str]:
    """Namespaces, bindings and pods of ours still in the cluster."""
    found = []
    for ns in cluster.store.list(kinds.NAMESPACES):
        meta = ns["metadata"]
        if GATHERING_LABEL in (meta.get("labels") or {}) or meta["name"].startswith(
            "openshift-must-gather-"
        ):
            found.append(f"namespace/{meta['name']}")
    for binding in cluster.store.list(kinds.CLUSTER_ROLE_BINDINGS):
        if GATHERING_LABEL in (binding["metadata"].get("labels") or {}):
            found.append(f"clusterrolebinding/{binding['metadata']['name']}")
    for pod in cluster.store.list(kinds.PODS):
        if GATHERING_LABEL in (pod["metadata"].get("labels") or {}):
            found.append(f"pod/{pod['metadata']['namespace']}/{pod['metadata']['name']}")
    return found


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def image_dirs(work_dir: Path) -> list[Path]:
    return sorted(p for p in work_dir.iterdir() if p.is_dir() and not p.name.startswith("inspect"))


def members(archive: Path) -> list[str]:
    with tarfile.open(archive) as tar:
        return tar.getnames()


async def gone(cluster: Cluster, *, within: float = 15) -> list[str]:
    """``leftovers`` once pods being deleted have gone (a watch, bounded by ``within``)."""
    async with asyncio.timeout(within), cluster.store.watch(kinds.PODS) as watch:
        while True:
            found = leftovers(cluster)
            if not found:
                return found
            terminating = [
                p
                for p in cluster.store.list(kinds.PODS)
                if GATHERING_LABEL in (p["metadata"].get("labels") or {})
                and p["metadata"].get("deletionTimestamp")
            ]
            if not terminating or len(terminating) != len(found):
                return found
            await anext(watch)
