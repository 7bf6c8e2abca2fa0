"""nginx as a round-robin load balancer in front of several ``serve`` processes, as a
Kubernetes Service (or an ingress) spreads requests over the replicas of a deployment.

``balancer(state_dir, services)`` writes an nginx.conf into ``state_dir`` (every path nginx
writes, its pid file and temporary directories included, lives there), runs Debian's
``/usr/sbin/nginx`` in the foreground and stops it on exit. The upstream has no sticky
sessions, so consecutive requests go to consecutive replicas; ``proxy_buffering off`` lets
a ``?follow=true`` stream through line by line. The tests needing it skip, saying why, when
nginx is not installed.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2

from support.nginx import as_this_user, nginx_binary
from support.processes import READY_WITHIN, ServiceProcess
from support.service import free_port

# One line per request: which replica answered it (its upstream address) and with what.
_ACCESS_FORMAT = "'$request_method $uri $status $upstream_addr'"


def _configuration(state_dir: Path, port: int, upstreams: Sequence[int]) -> str:
    servers = "\n".join(f"        server 127.0.0.1:{p};" for p in upstreams)
    temporary = "\n".join(
        f"    {kind}_temp_path {state_dir / 'temp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return as_this_user(f"""\
daemon off;
worker_processes 1;
pid {state_dir / "nginx.pid"};
error_log {state_dir / "error.log"} notice;
events {{
    worker_connections 512;
}}
http {{
    log_format replicas {_ACCESS_FORMAT};
    access_log {state_dir / "access.log"} replicas;
{temporary}
    upstream replicas {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        location / {{
            proxy_pass http://replicas;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_buffering off;
            proxy_read_timeout 300s;
        }}
    }}
}}
""")


@dataclass
class Balancer:
    """A running nginx; ``url`` is where clients send their requests."""

    state_dir: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answered(self) -> list[tuple[str, str, int, str]]:
        """(method, path, status, replica address) of each request nginx passed on."""
        lines = (self.state_dir / "access.log").read_text().splitlines()
        entries = []
        for line in lines:
            method, path, status, upstream = line.split(" ", 3)
            entries.append((method, path, int(status), upstream))
        return entries

    def error_log(self) -> str:
        return (self.state_dir / "error.log").read_text(errors="replace")


async def _wait_listening(balancer: Balancer) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_WITHIN
    async with httpx2.AsyncClient(timeout=2) as client:
        while True:
            if balancer.process.poll() is not None:
                raise AssertionError(f"nginx exited early:\n{balancer.error_log()[-3000:]}")
            try:
                if (await client.get(f"{balancer.url}/readyz")).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            assert loop.time() < deadline, f"nginx never answered:\n{balancer.error_log()}"
            await asyncio.sleep(0.05)  # another process: nothing to await but its answers


@asynccontextmanager
async def balancer(state_dir: Path, services: Sequence[ServiceProcess]) -> AsyncIterator[Balancer]:
    """nginx balancing over ``services`` (by their ports) until the block ends."""
    binary = nginx_binary()
    state_dir.mkdir(parents=True, exist_ok=True)
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (state_dir / "temp" / kind).mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = state_dir / "nginx.conf"
    config.write_text(_configuration(state_dir, port, [s.port for s in services]))
    # -e: the error log before the configuration is read, which would otherwise be
    # /var/log/nginx/error.log (not ours to write, and absent when not root).
    command = [binary, "-c", str(config), "-p", str(state_dir), "-e", "stderr"]
    with (state_dir / "nginx.out").open("wb") as out:
        # Popen, not asyncio's: its transports would outlive the test's loop.
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    running = Balancer(state_dir, port, process)
    try:
        await _wait_listening(running)
        yield running
    finally:
        if process.poll() is None:
            # SIGTERM is nginx's fast shutdown: open `?follow=true` streams end at once.
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, 10)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)
