"""Several replicas as one service, for the replicas benchmark: one PostgreSQL database,
``must-gather-api serve`` (granian, as in production) per replica on one data directory,
and nginx as a round-robin balancer in front of any of them.

The PostgreSQL server and the kubesim process are the multi-replica tests' own
(tests/support/postgres.py and processes.py), and so is the way nginx is run
(tests/support/nginx.py), imported from the tests directory so that
the benchmark measures the topology the tests check.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench import serving
from bench.download import ensure_nginx

_TESTS = Path(__file__).resolve().parents[1] / "tests"
if str(_TESTS) not in sys.path:
    sys.path.insert(0, str(_TESTS))

from support.nginx import nginx  # noqa: E402

# The throwaway server's pieces are private to the tests' fixture; the benchmark needs the
# same server without pytest running, so it uses them as the fixture does.
from support.postgres import (  # noqa: E402
    ENVIRONMENT_VARIABLE,
    PostgresCluster,
    fresh_database,
    postgres_bin,
)
from support.processes import KubesimProcess, kubesim_process  # noqa: E402

__all__ = ["KubesimProcess", "kubesim_process"]

# support.nginx runs it in the foreground (and as root where the bench runs as root).
BALANCER_CONFIG = """
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    upstream replicas {{
{servers}
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://replicas;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 300s;
        }}
    }}
}}
"""


class Unavailable(Exception):
    """What the benchmark needs cannot be had here (the message says why)."""


@asynccontextmanager
async def database() -> AsyncIterator[str]:
    """A fresh database on MGA_TEST_DATABASE_URL's server, else on a throwaway server from
    the local PostgreSQL installation; yields its SQLAlchemy URL."""
    given = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if given:
        async with fresh_database(given) as url:
            yield url
        return
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise Unavailable(
            f"no PostgreSQL: {ENVIRONMENT_VARIABLE} is not set and no initdb is installed "
            "under /usr/lib/postgresql/*/bin"
        )
    try:
        cluster = PostgresCluster(bin_dir)
    except pytest.skip.Exception as e:  # the fixture's way of saying it cannot run one
        raise Unavailable(str(e)) from None
    try:
        server = await asyncio.to_thread(cluster.start)
        async with fresh_database(server) as url:
            yield url
    finally:
        await asyncio.to_thread(cluster.stop)


async def server_pid(url: str) -> int | None:
    """The PostgreSQL server's main process when it runs on this machine (its
    ``postmaster.pid``), so that its CPU can be counted; else None."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            directory = (await connection.execute(text("SHOW data_directory"))).scalar_one()
    finally:
        await engine.dispose()
    try:
        first = (Path(directory) / "postmaster.pid").read_text().split("\n", 1)[0]
    except OSError:
        return None  # another machine's, or not ours to read
    return int(first) if first.strip().isdigit() else None


@dataclass
class Replicas:
    """``serve`` processes sharing ``state`` (so one DATA_DIR) and ``settings``, by name."""

    state: Path
    settings: dict[str, str]
    running: dict[str, serving.Service] = field(default_factory=dict)

    async def start(self, name: str) -> serving.Service:
        service = await serving.spawn(self.state, REPLICA_NAME=name, **self.settings)
        self.running[name] = service
        await serving.wait_ready(service.url, service.process, within=serving.READY_TIMEOUT)
        return service

    async def kill(self, name: str) -> None:
        """SIGKILL to the replica's whole process group (granian's server and worker)."""
        service = self.running.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(service.process.pid, signal.SIGKILL)
        await service.process.wait()

    async def stop(self) -> None:
        services = list(self.running.values())
        self.running.clear()
        await asyncio.gather(*(serving.stop(s) for s in services))


@asynccontextmanager
async def replicas(state: Path, **settings: str) -> AsyncIterator[Replicas]:
    """No replica at first (``start`` them); all stopped on the way out."""
    group = Replicas(state, settings)
    try:
        yield group
    finally:
        await group.stop()


@dataclass(frozen=True)
class Balancer:
    url: str
    pid: int


@asynccontextmanager
async def balancer(directory: Path, services: list[serving.Service]) -> AsyncIterator[Balancer]:
    """nginx balancing round robin over ``services``, run as the multi-replica tests run it."""
    why_not = await ensure_nginx()
    if why_not is not None:
        raise Unavailable(why_not)
    await asyncio.to_thread((directory / "tmp").mkdir, parents=True)
    port = serving.free_port()
    servers = "\n".join(f"        server {s.url.removeprefix('http://')};" for s in services)
    config = BALANCER_CONFIG.format(dir=directory, port=port, servers=servers)
    url = f"http://127.0.0.1:{port}"
    async with nginx(directory, config, ready_url=f"{url}/readyz"):
        pid = int(await asyncio.to_thread((directory / "nginx.pid").read_text))
        yield Balancer(url, pid)


async def wait_for_text(path: Path, text: str, *, within: float) -> None:
    """Until ``path`` (a file another process writes) contains ``text``."""
    async with asyncio.timeout(within):
        while True:
            with contextlib.suppress(OSError):
                if text in await asyncio.to_thread(path.read_text, errors="replace"):
                    return
            await asyncio.sleep(0.05)


async def delete(session: aiohttp.ClientSession, url: str, gathering_id: int) -> None:
    async with session.delete(f"{url}/must-gather/{gathering_id}") as response:
        response.raise_for_status()
