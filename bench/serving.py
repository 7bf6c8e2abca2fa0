"""The service under measurement: ``must-gather-api serve`` (granian) as its own process.

Peak memory is read from ``/proc/<pid>/status`` (VmHWM) of the server and every process
below it (granian runs the application in a worker process).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

READY_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def process_tree(pid: int) -> list[int]:
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(_children(current))
    return tree


def status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Service:
    process: asyncio.subprocess.Process
    url: str
    state: Path

    def peak_rss_bytes(self) -> int:
        """The largest VmHWM among the server's processes (the worker holds the app)."""
        return max(status_kib(pid, "VmHWM") for pid in process_tree(self.process.pid)) * 1024

    def reset_peak(self) -> None:
        """Restart VmHWM counting (Linux: writing 5 to clear_refs resets the peak)."""
        for pid in process_tree(self.process.pid):
            with contextlib.suppress(OSError):
                Path(f"/proc/{pid}/clear_refs").write_text("5")


def service_environment(state: Path, port: int, **settings: str) -> dict[str, str]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    }
    environ |= {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "AUTH": "none",
        "DB_PATH": str(state / "gatherings.db"),
        "DATA_DIR": str(state / "data"),
        "CLEANUP_MAX_AGE": "-1",
    }
    environ |= settings
    return environ


async def wait_ready(url: str, process: asyncio.subprocess.Process, *, within: float) -> float:
    """Seconds until ``/readyz`` answers 200, polling every 10 ms."""
    started = time.perf_counter()
    deadline = started + within
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.perf_counter() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"the service exited with {process.returncode} before ready")
            try:
                async with session.get(f"{url}/readyz") as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.01)
    raise RuntimeError(f"the service at {url} was not ready within {within} s")


async def spawn(state: Path, *, server: str = "granian", **settings: str) -> Service:
    await asyncio.to_thread(state.mkdir, parents=True, exist_ok=True)
    port = free_port()
    log = (state / f"service-{port}.log").open("ab")
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "must_gather_api",
            "serve",
            "--server",
            server,
            env=service_environment(state, port, **settings),
            stdout=log,
            stderr=log,
            # A process group of its own (stop() kills it whole), but not a session: a new
            # session is a scheduling group of its own under the kernel's autogroups, and
            # the workers' SCHED_IDLE would no longer make way for the bench's clients.
            process_group=0,
        )
    finally:
        log.close()
    return Service(process=process, url=f"http://127.0.0.1:{port}", state=state)


async def stop(service: Service) -> None:
    if service.process.returncode is None:
        service.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(40):
                await service.process.wait()
        except TimeoutError:
            os.killpg(service.process.pid, signal.SIGKILL)
            await service.process.wait()


@asynccontextmanager
async def running(
    state: Path, *, server: str = "granian", **settings: str
) -> AsyncIterator[Service]:
    """The service serving ``state`` (its database and data dir), ready, stopped after."""
    service = await spawn(state, server=server, **settings)
    try:
        await wait_ready(service.url, service.process, within=READY_TIMEOUT)
        yield service
    finally:
        await stop(service)
