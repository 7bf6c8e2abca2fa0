"""Debian's nginx, run from a test with everything it writes under the test's directory."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import pytest

NGINX = "/usr/sbin/nginx"


def nginx_binary() -> str:
    """The nginx binary; the test is skipped, saying why, where it is not installed."""
    found = shutil.which("nginx") or (NGINX if os.access(NGINX, os.X_OK) else None)
    if found is None:
        pytest.skip("nginx is not installed (.ci/run installs Debian's package)")
    return found


def as_this_user(config: str) -> str:
    """``config`` with the worker run as the user running the test: as root, nginx would
    switch its worker to `nobody`, who cannot read a test's files."""
    return ("user root;\n" if os.geteuid() == 0 else "") + config


@asynccontextmanager
async def nginx(
    directory: Path, config: str, *, ready_url: str, verify: ssl.SSLContext | bool = True
) -> AsyncIterator[None]:
    """nginx running ``config`` (a whole nginx.conf) in the foreground until the context
    ends; ready once ``ready_url`` answers at all."""
    binary = nginx_binary()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "nginx.conf"
    path.write_text(as_this_user(config))
    process = await asyncio.create_subprocess_exec(
        *(binary, "-c", str(path), "-p", str(directory), "-g", "daemon off;"),
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with httpx2.AsyncClient(timeout=1, verify=verify) as client:
            for _ in range(500):
                if process.returncode is not None:
                    break
                try:
                    await client.get(ready_url)
                    break
                except httpx2.TransportError:
                    await asyncio.sleep(0.01)
        if process.returncode is not None:
            assert process.stderr is not None
            said = (await process.stderr.read()).decode(errors="replace")
            raise RuntimeError(f"nginx exited with {process.returncode}: {said}")
        yield
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGQUIT)
            try:
                async with asyncio.timeout(10):
                    await process.communicate()
            except TimeoutError:
                process.kill()
                await process.communicate()
