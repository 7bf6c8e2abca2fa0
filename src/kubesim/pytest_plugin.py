"""pytest fixtures that start kubesim clusters, and a kubectl runner bound to one.

- ``kubesim``: a fresh started cluster (OpenShift flavour, seeded, with a kubelet) per test;
- ``kubesim_module``: one per module; its tests need ``@pytest.mark.asyncio(loop_scope="module")``;
- ``kubesim_factory``: ``await kubesim_factory(openshift=False, faults=[...], kubelet=False)``;
- ``kubectl``: ``await kubectl(cluster, "get", "pods", token=USER_TOKEN)`` runs the real kubectl
  with a fresh HOME and KUBECONFIG; it skips the test when kubectl is not installed.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from kubesim.auth import ADMIN_TOKEN
from kubesim.cluster import Cluster, ClusterOptions

KUBECTL = "/usr/bin/kubectl"
ClusterFactory = Callable[..., Awaitable[Cluster]]


@dataclass(frozen=True)
class KubectlResult:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def check(self) -> KubectlResult:
        """Itself, or an AssertionError that shows what kubectl said."""
        assert self.returncode == 0, (
            f"kubectl {' '.join(self.args)} exited {self.returncode}: {self.stderr or self.stdout}"
        )
        return self


KubectlRunner = Callable[..., Awaitable[KubectlResult]]


def kubectl_binary() -> str | None:
    if os.access(KUBECTL, os.X_OK):
        return KUBECTL
    return shutil.which("kubectl")


def kubectl_environment(
    cluster: Cluster, home: Path, *, token: str = ADMIN_TOKEN
) -> dict[str, str]:
    """Environment for one kubectl run: a fresh HOME holding a kubeconfig for ``token``."""
    home.mkdir(parents=True, exist_ok=True)
    config = cluster.write_kubeconfig(home / "kubeconfig", token=token)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "KUBECONFIG": str(config),
    }


@pytest_asyncio.fixture
async def kubesim(tmp_path: Path) -> AsyncIterator[Cluster]:
    async with Cluster(ClusterOptions(state_dir=tmp_path / "kubesim")) as cluster:
        yield cluster


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def kubesim_module(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    state_dir = tmp_path_factory.mktemp("kubesim")
    async with Cluster(ClusterOptions(state_dir=state_dir)) as cluster:
        yield cluster


@pytest_asyncio.fixture
async def kubesim_factory(tmp_path: Path) -> AsyncIterator[ClusterFactory]:
    started: list[Cluster] = []
    counter = itertools.count()

    async def make(**options: Any) -> Cluster:
        options.setdefault("state_dir", tmp_path / f"kubesim-{next(counter)}")
        cluster = Cluster(ClusterOptions(**options))
        await cluster.start()
        started.append(cluster)
        return cluster

    try:
        yield make
    finally:
        for cluster in reversed(started):
            await cluster.stop()


@pytest.fixture
def kubectl(tmp_path: Path) -> KubectlRunner:
    binary = kubectl_binary()
    if binary is None:
        pytest.skip(f"kubectl is not installed ({KUBECTL} missing)")
    runs = itertools.count()

    async def run(
        cluster: Cluster,
        *args: str,
        token: str = ADMIN_TOKEN,
        stdin: bytes | None = None,
        time_limit: float = 30.0,
    ) -> KubectlResult:
        env = kubectl_environment(cluster, tmp_path / f"kubectl-home-{next(runs)}", token=token)
        process = await asyncio.create_subprocess_exec(
            binary,
            *args,
            env=env,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(time_limit):
                out, err = await process.communicate(stdin)
        except TimeoutError:
            process.kill()
            await process.communicate()
            raise
        return KubectlResult(tuple(args), process.returncode or 0, out.decode(), err.decode())

    return run
