"""Several ``serve`` processes of one deployment: one PostgreSQL database, one shared
DATA_DIR, one kubesim, each with its own REPLICA_NAME and a short lease, for the tests of
issue 21's replicas (tests/reliability/test_replicas*.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from support.processes import (
    KubesimProcess,
    ServiceProcess,
    kubesim_process,
    service_environment,
)

LEASE_SECONDS = 3


def shared_data(tmp_path: Path) -> Path:
    return tmp_path / "shared-data"


@asynccontextmanager
async def replicas(
    tmp_path: Path,
    cluster: KubesimProcess,
    database_url: str,
    *names: str,
    credentials: str,
    **environment: str,
) -> AsyncIterator[list[ServiceProcess]]:
    """One ``serve`` process per name, sharing the database and DATA_DIR, started at once
    (each one's start, its migrations and readiness, takes seconds on a busy machine)."""
    async with AsyncExitStack() as stack:
        started = []
        for name in names:
            (tmp_path / name).mkdir(parents=True, exist_ok=True)
            service = ServiceProcess(
                tmp_path / name,
                environment={
                    **service_environment(cluster, credentials=credentials),
                    "DATABASE_URL": database_url,
                    "DATA_DIR": str(shared_data(tmp_path)),
                    "REPLICA_NAME": name,
                    "LEASE_DURATION": f"{LEASE_SECONDS}s",
                    **environment,
                },
            )
            stack.push_async_callback(service.stop)
            started.append(service)
        # A TaskGroup: when one fails to start, the others' waits are cancelled, not leaked.
        async with asyncio.TaskGroup() as group:
            for service in started:
                group.create_task(service.start(), name=f"start-{service.state_dir.name}")
        yield started


@asynccontextmanager
async def replicas_on_kubesim(
    tmp_path: Path,
    database_url: str,
    *names: str,
    credentials: str,
    **environment: str,
) -> AsyncIterator[tuple[KubesimProcess, list[ServiceProcess]]]:
    """A kubesim process of its own (state under ``tmp_path/kubesim``) and ``replicas`` on
    it; both stopped on exit, the replicas first."""
    async with (
        kubesim_process(tmp_path / "kubesim") as cluster,
        replicas(
            tmp_path, cluster, database_url, *names, credentials=credentials, **environment
        ) as started,
    ):
        yield cluster, started
