"""`must-gather-api serve` as its own process: granian over HTTP and HTTPS, reload, SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import ssl
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import pytest

from support.certificates import write_self_signed
from support.service import free_port

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(90)]

COMMAND = [sys.executable, "-m", "must_gather_api.cli", "serve"]


@asynccontextmanager
async def serving(
    tmp_path: Path, **environment: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AUTH": "none",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DB_PATH": str(tmp_path / "gatherings.db"),
        "DATA_DIR": str(tmp_path / "data"),
        "SHUTDOWN_GRACE_PERIOD": "5s",
        **environment,
    }
    scheme = "https" if "API_TLS_CERTIFICATE" in environment else "http"
    with (tmp_path / "serve.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *COMMAND, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
        try:
            yield process, f"{scheme}://127.0.0.1:{port}"
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def wait_ready(url: str, *, verify: ssl.SSLContext | bool = True) -> httpx2.Response:
    async with httpx2.AsyncClient(verify=verify, timeout=2) as client:
        for _ in range(300):
            try:
                response = await client.get(f"{url}/readyz")
                if response.status_code == 200:
                    return response
            except httpx2.TransportError:
                pass
            await asyncio.sleep(0.1)  # the process is starting: nothing to await but the port
    raise AssertionError(f"{url} never became ready")


async def test_serve_over_http_then_stop_on_sigterm(tmp_path: Path) -> None:
    async with serving(tmp_path) as (process, url):
        await wait_ready(url)
        async with httpx2.AsyncClient(base_url=url) as client:
            created = await client.post("/must-gather", json={"custom-name": "smoke"})
            assert created.status_code == 201
            assert (await client.get("/must-gather/smoke")).json()["id"] == created.json()["id"]
            assert (await client.get("/")).text.startswith("must-gather-api")
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    assert (tmp_path / "gatherings.db").is_file()


async def test_serve_over_https_and_reload_a_rotated_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    first = write_self_signed(cert, key)
    environment = {
        "API_TLS_CERTIFICATE": str(cert),
        "API_TLS_KEY": str(key),
        "TLS_RELOAD_INTERVAL": "0.2s",
    }
    async with serving(tmp_path, **environment) as (process, url):
        await wait_ready(url, verify=ssl.create_default_context(cafile=cert))
        assert await served_serial(url) == first
        rotated = tmp_path / "rotated"
        rotated.mkdir()
        second = write_self_signed(rotated / "tls.crt", rotated / "tls.key")
        os.replace(rotated / "tls.key", key)
        os.replace(rotated / "tls.crt", cert)
        # While the old worker drains, both certificates may be served: wait until only the
        # new one is, several handshakes in a row.
        in_a_row = 0
        for _ in range(600):
            in_a_row = in_a_row + 1 if await served_serial(url) == second else 0
            if in_a_row == 5:
                break
            await asyncio.sleep(0.1)  # waiting on another process's worker respawn
        assert in_a_row == 5, "the rotated certificate was never served alone"
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0


async def served_serial(url: str) -> int | None:
    host, port = url.removeprefix("https://").split(":")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        _reader, writer = await asyncio.open_connection(host, int(port), ssl=context)
    except OSError:
        return None
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
        # A worker draining for the reload may drop the connection before our close_notify
        # goes out (a broken pipe): the certificate is already read, which is all we check.
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    from cryptography import x509

    return x509.load_der_x509_certificate(der).serial_number
