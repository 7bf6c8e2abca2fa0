"""kubesim and the service, each as its own OS process, for the reliability tests.

``python -m support.processes kubesim STATE_DIR`` (PYTHONPATH=tests) runs a kubesim cluster
as ``kubesim serve`` does, provisions the service's account as the demo does (bound to
cluster-admin too, for GATHER_CREDENTIALS=service) and writes ``cluster.json`` once it
listens. ``KubesimProcess`` and ``ServiceProcess`` start them from a test; the service is
run with ``--server uvicorn`` so that one SIGKILL kills all of it, and can be killed,
stopped and restarted against the same database and DATA_DIR.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import yaml

from support.service import free_port

TESTS_DIR = Path(__file__).resolve().parents[1]
GATHERING_LABEL = "must-gather-api.io/gathering"
ADMIN_TOKEN = "admin-token"  # kubesim's cluster-admin
READY_WITHIN = 60.0


def _base_environment(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "PYTHONPATH": str(TESTS_DIR),
        "PYTHONUNBUFFERED": "1",
    }


async def _poll_until(check: Any, *, within: float, what: str) -> Any:
    """``await check()`` until it returns something truthy, or fail after ``within`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {within:.0f}s")
        await asyncio.sleep(0.1)  # another process: nothing to await but its answers


# -- kubesim -----------------------------------------------------------------------------


@dataclass
class KubesimProcess:
    """A kubesim cluster in its own process; ``cluster.json`` says where it is."""

    state_dir: Path
    process: subprocess.Popen[bytes] | None = None
    info: dict[str, str] = field(default_factory=dict)

    rbac: str = "admin"
    niceness: int = 0  # a lower CPU priority, as for a cluster whose work runs elsewhere
    cpu_group: Path | None = None  # a cgroup to run in, its pods and execs with it
    cpus: str = ""  # a CPU list (taskset -c) to run on, its pods and execs with it

    async def start(self, *faults: str) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        ready = self.state_dir / "cluster.json"
        ready.unlink(missing_ok=True)
        command = [sys.executable, "-m", "support.processes", "kubesim", str(self.state_dir)]
        for fault in faults:
            command += ["--fault", fault]
        command += ["--rbac", self.rbac]
        if self.niceness:
            command = ["nice", "-n", str(self.niceness), *command]
        if self.cpus:
            command = ["taskset", "-c", self.cpus, *command]
        with (self.state_dir / "kubesim.log").open("ab") as log:
            # Popen, not asyncio's: its transports would outlive the test's loop.
            self.process = subprocess.Popen(
                command, env=_base_environment(self.state_dir), stdout=log, stderr=subprocess.STDOUT
            )
        if self.cpu_group is not None:
            # Before it serves: every pod and exec it starts is forked into the group.
            (self.cpu_group / "cgroup.procs").write_text(str(self.process.pid))

        async def written() -> bool:
            if self.process is not None and self.process.poll() is not None:
                log_text = (self.state_dir / "kubesim.log").read_text(errors="replace")
                raise AssertionError(f"kubesim exited early:\n{log_text[-3000:]}")
            return ready.is_file()

        await _poll_until(written, within=READY_WITHIN, what="kubesim")
        self.info = json.loads(ready.read_text())

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.process.wait, 30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                await asyncio.to_thread(self.process.wait)

    def client(self, *, token: str = ADMIN_TOKEN) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            base_url=self.info["url"],
            verify=ssl.create_default_context(cafile=self.info["ca"]),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    async def set_faults(self, body: dict[str, Any]) -> None:
        async with self.client() as api:
            response = await api.post("/kubesim/faults", json=body)
            response.raise_for_status()

    async def clear_faults(self) -> None:
        async with self.client() as api:
            (await api.delete("/kubesim/faults")).raise_for_status()

    async def leftovers(self) -> list[str]:
        """Namespaces, bindings and pods of ours the cluster still has (not terminating)."""
        found: list[str] = []
        selector = {"labelSelector": GATHERING_LABEL}
        async with self.client() as api:
            namespaces = (await api.get("/api/v1/namespaces", params=selector)).json()
            for ns in namespaces.get("items", []):
                found.append(f"namespace/{ns['metadata']['name']}")
            bindings = await api.get(
                "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", params=selector
            )
            for binding in bindings.json().get("items", []):
                found.append(f"clusterrolebinding/{binding['metadata']['name']}")
            pods = (await api.get("/api/v1/pods", params=selector)).json()
            for pod in pods.get("items", []):
                meta = pod["metadata"]
                found.append(f"pod/{meta['namespace']}/{meta['name']}")
        return found

    async def no_leftovers(self, *, within: float = 30) -> None:
        async def clean() -> bool:
            return not await self.leftovers()

        try:
            await _poll_until(clean, within=within, what="our objects to leave the cluster")
        except AssertionError as e:
            raise AssertionError(f"{e}: {await self.leftovers()}") from None


@asynccontextmanager
async def kubesim_process(
    state_dir: Path,
    *faults: str,
    rbac: str = "admin",
    niceness: int = 0,
    cpu_group: Path | None = None,
    cpus: str = "",
) -> AsyncIterator[KubesimProcess]:
    """``rbac``: what the service's account may do. ``admin``: cluster-admin; ``deploy``:
    exactly what deploy/ grants it with GATHER_CREDENTIALS=caller (token and access
    reviews); ``deploy-service``: and the service-credentials component's role."""
    cluster = KubesimProcess(
        state_dir, rbac=rbac, niceness=niceness, cpu_group=cpu_group, cpus=cpus
    )
    try:
        await cluster.start(*faults)
        yield cluster
    finally:
        await cluster.stop()


# -- the service ---------------------------------------------------------------------------


@dataclass
class ServiceProcess:
    """``must-gather-api serve --server uvicorn`` (or granian, as in production) with a fixed
    port, database and DATA_DIR."""

    state_dir: Path
    environment: dict[str, str] = field(default_factory=dict)
    server: str = "uvicorn"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    def env(self) -> dict[str, str]:
        return {
            **_base_environment(self.state_dir),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DB_PATH": str(self.state_dir / "gatherings.db"),
            "DATA_DIR": str(self.data_dir),
            "SHUTDOWN_GRACE_PERIOD": "5s",
            "OUTPUT_FLUSH_INTERVAL": "0.1s",
            **self.environment,
        }

    async def start(self) -> None:
        self.starts += 1
        command = [sys.executable, "-m", "must_gather_api", "serve", "--server", self.server]
        with (self.state_dir / f"service-{self.starts}.log").open("wb") as log:
            self.process = subprocess.Popen(
                command, env=self.env(), stdout=log, stderr=subprocess.STDOUT
            )
        await self.wait_ready()

    async def wait_ready(self) -> None:
        async with httpx2.AsyncClient(timeout=2) as client:

            async def ready() -> bool:
                if self.process is not None and self.process.poll() is not None:
                    raise AssertionError(f"the service exited early:\n{self.log()[-3000:]}")
                try:
                    return (await client.get(f"{self.url}/readyz")).status_code == 200
                except httpx2.TransportError:
                    return False

            await _poll_until(ready, within=READY_WITHIN, what="the service to be ready")

    def log(self) -> str:
        return (self.state_dir / f"service-{self.starts}.log").read_text(errors="replace")

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        assert self.process is not None
        self.process.kill()
        await asyncio.to_thread(self.process.wait)

    async def terminate(self, *, within: float = 60) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.process.wait, within)

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            await asyncio.to_thread(self.process.wait)


@asynccontextmanager
async def service_process(
    state_dir: Path, *, server: str = "uvicorn", **environment: str
) -> AsyncIterator[ServiceProcess]:
    state_dir.mkdir(parents=True, exist_ok=True)
    service = ServiceProcess(state_dir, environment=environment, server=server)
    try:
        await service.start()
        yield service
    finally:
        await service.stop()


def service_environment(cluster: KubesimProcess, *, credentials: str) -> dict[str, str]:
    """The service against the kubesim process, with its own account, checking tokens."""
    return {
        "USE_KUBECONFIG": "true",
        "KUBECONFIG": cluster.info["service_kubeconfig"],
        "AUTH": "kubernetes",
        "GATHER_CREDENTIALS": credentials,
        "CLUSTER_REQUEST_TIMEOUT": "10s",
        "GATHER_TIMEOUT_MARGIN": "60s",
    }


# -- the kubesim launcher (runs in the child process) ---------------------------------------


_COMPONENT = Path(__file__).parents[2] / "deploy" / "components" / "service-credentials"


def _grant(cluster: Any, rbac: str) -> None:
    """The service account's rights beyond deploy/base's auth-delegator binding."""
    from kubesim import kinds
    from must_gather_api.cli.demo import SERVICE_ACCOUNT, SERVICE_NAMESPACE

    if rbac == "deploy":
        return
    if rbac == "deploy-service":
        role = yaml.safe_load((_COMPONENT / "clusterrole.yaml").read_text())
        binding = yaml.safe_load((_COMPONENT / "clusterrolebinding.yaml").read_text())
        cluster.store.create(kinds.CLUSTER_ROLES, role)
        cluster.store.create(kinds.CLUSTER_ROLE_BINDINGS, binding)
        return
    if rbac != "admin":
        raise ValueError(f"unknown rbac {rbac!r}")
    cluster.store.create(
        kinds.CLUSTER_ROLE_BINDINGS,
        {
            "metadata": {"name": "must-gather-api-cluster-admin"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "cluster-admin",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": SERVICE_NAMESPACE}
            ],
        },
    )


async def _serve_kubesim(state_dir: Path, faults: list[str], rbac: str) -> None:
    from kubesim.cluster import Cluster, ClusterOptions
    from must_gather_api.cli.demo import (
        provision_service_account,
    )

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    options = ClusterOptions(state_dir=state_dir / "cluster", faults=faults)
    async with Cluster(options) as cluster:
        service_kubeconfig = provision_service_account(cluster, state_dir)
        _grant(cluster, rbac)
        info = {
            "url": cluster.url,
            "ca": str(cluster.ca_file),
            "admin_kubeconfig": str(cluster.kubeconfig_path),
            "service_kubeconfig": str(service_kubeconfig),
        }
        partial = state_dir / "cluster.json.partial"
        partial.write_text(json.dumps(info))
        partial.replace(state_dir / "cluster.json")
        await stop.wait()


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="support.processes")
    commands = parser.add_subparsers(dest="command", required=True)
    kubesim = commands.add_parser("kubesim")
    kubesim.add_argument("state_dir", type=Path)
    kubesim.add_argument("--fault", action="append", default=[])
    kubesim.add_argument("--rbac", default="admin")
    args = parser.parse_args(argv)
    asyncio.run(_serve_kubesim(args.state_dir, args.fault, args.rbac))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
