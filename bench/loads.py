"""Load generation: wrk (Debian's package, installed where missing and possible), and a
one-request-at-a-time latency sampler for measuring while other work runs."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from bench.tools import ensure_debian_tool

WRK = "/usr/bin/wrk"
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
_PERCENTILE = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.M)
_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
_ERRORS = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)|Socket errors:.*timeout (\d+)")


async def ensure_wrk() -> str | None:
    """None when wrk can be used; otherwise why not."""
    return await ensure_debian_tool(WRK, "wrk")


def parse_wrk(text: str) -> dict[str, Any]:
    rate = _RATE.search(text)
    latencies = {
        f"p{m.group(1)}_ms": round(float(m.group(2)) * _UNITS[m.group(3)] * 1000, 3)
        for m in _PERCENTILE.finditer(text)
    }
    errors = sum(int(n) for m in _ERRORS.finditer(text) for n in m.groups() if n)
    requests = re.search(r"(\d+) requests in", text)
    return {
        "rps": float(rate.group(1)) if rate else 0.0,
        **latencies,
        "requests": int(requests.group(1)) if requests else 0,
        "errors": errors,
    }


async def wrk(
    url: str, *, connections: int, seconds: float, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    args = [WRK, "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "30s"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    process = await asyncio.create_subprocess_exec(
        *args, url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(seconds + 60):
        out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed: {err.decode()[-500:]}")
    return parse_wrk(out.decode())


SAMPLER = r"""
import http.client, sys, time
host, port, path, pause = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
connection = http.client.HTTPConnection(host, port, timeout=30)
while True:
    started = time.monotonic()
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    ended = time.monotonic()
    print(f"{ended:.6f} {ended - started:.6f} {response.status}", flush=True)
    time.sleep(pause)
"""


class Sampler:
    """Sequential GETs from their own process (so this process's event loop cannot skew
    them); each line is ``<monotonic end> <seconds> <status>``."""

    def __init__(self, host: str, port: int, path: str, *, pause: float = 0.01) -> None:
        self._args = [host, str(port), path, str(pause)]
        self._process: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self.samples: list[tuple[float, float, int]] = []

    async def __aenter__(self) -> Sampler:
        self._process = await asyncio.create_subprocess_exec(
            "python3", "-c", SAMPLER, *self._args, stdout=asyncio.subprocess.PIPE
        )
        self._task = asyncio.create_task(self._read(), name="bench-sampler-read")
        return self

    async def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        async for line in self._process.stdout:
            ended, seconds, status = line.split()
            self.samples.append((float(ended), float(seconds), int(status)))

    async def __aexit__(self, *_: object) -> None:
        assert self._process is not None and self._task is not None
        self._process.terminate()
        await self._process.wait()
        await self._task

    def between(self, start: float, end: float) -> list[float]:
        return [s for t, s, code in self.samples if start <= t <= end and code == 200]
