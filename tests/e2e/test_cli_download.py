"""`download` resumes: after a connection cut half-way, and from a partial file left behind.

A small proxy between the client and the service cuts the first archive transfer after half
of its body; the client must go on with a Range request and end with the checked archive.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

# Imported now rather than lazily inside the first archive response: there, deep in the
# server's stack, pytest's assertion rewriting of anyio (a pytest plugin) makes Python 3.11.7
# fail with "AST constructor recursion depth mismatch" (a CPython bug fixed in 3.11.8).
import anyio._core._fileio  # noqa: F401
import httpx2
import pytest
import pytest_asyncio

from must_gather_api.executors.base import Job, Outcome, Output
from support.executors import FakeExecutor
from support.service import make_settings, served_app

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

CLI = [sys.executable, "-m", "must_gather_api"]
BLOB = 3 * 1024 * 1024


@dataclass
class BigExecutor(FakeExecutor):
    """Gathers 3 MiB of incompressible bytes, so that an archive takes several chunks."""

    async def _behave(self, job: Job, output: Output) -> Outcome:
        (job.work_dir / "blob").write_bytes(os.urandom(BLOB))
        output.line("[big] done")
        return Outcome()


@dataclass
class CuttingProxy:
    """Forwards to the service; the first archive response is cut after half its body."""

    upstream: int
    requests: list[bytes] = field(default_factory=list)
    cut: bool = False
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _handlers: set[asyncio.Task[object]] = field(default_factory=set)

    async def close(self) -> None:
        """Ends the connections still open: the server's close does not end its handlers."""
        for task in self._handlers:
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        this = asyncio.current_task()
        assert this is not None
        self._handlers.add(this)
        this.add_done_callback(self._handlers.discard)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        except BaseException:
            writer.close()
            raise
        last_request = [b""]

        async def forward_requests() -> None:
            while data := await reader.read(65536):
                last_request[0] = data
                self.requests.append(data)
                up_writer.write(data)
                await up_writer.drain()

        sending = asyncio.create_task(forward_requests(), name="proxy-requests")
        self._tasks.add(sending)
        try:
            response = b""
            while data := await up_reader.read(65536):
                cutting = not self.cut and b"/data " in last_request[0]
                if cutting:
                    response += data
                    head, _, body = response.partition(b"\r\n\r\n")
                    length = int(
                        next(
                            line.split(b":")[1]
                            for line in head.split(b"\r\n")
                            if line.lower().startswith(b"content-length:")
                        )
                    )
                    if len(body) >= length // 2:
                        writer.write(data[: len(data) - (len(body) - length // 2)])
                        await writer.drain()
                        self.cut = True
                        return
                writer.write(data)
                await writer.drain()
        finally:
            sending.cancel()
            await asyncio.gather(sending, return_exceptions=True)
            self._tasks.discard(sending)
            for stream in (writer, up_writer):
                stream.close()
                with contextlib.suppress(OSError):
                    await stream.wait_closed()


@dataclass
class Setup:
    url: str
    home: Path

    async def cli(self, *args: str, url: str | None = None) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            *CLI,
            *args,
            env={
                "PATH": os.environ["PATH"],
                "HOME": str(self.home),
                "MUST_GATHER_API_URL": url or self.url,
            },
            cwd=self.home,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(45):
            out, err = await process.communicate()
        return process.returncode or 0, out.decode(), err.decode()

    async def gathered(self) -> dict[str, object]:
        code, out, err = await self.cli("run", "--wait", "--output", "json")
        assert code == 0, err
        gathering: dict[str, object] = json.loads(out)
        return gathering


@pytest_asyncio.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    home = tmp_path / "home"
    home.mkdir()
    async with served_app(make_settings(tmp_path), executor=BigExecutor()) as url:
        yield Setup(url, home)


async def test_a_download_cut_half_way_goes_on_with_a_range_request(setup: Setup) -> None:
    gathering = await setup.gathered()
    proxy = CuttingProxy(int(setup.url.rsplit(":", 1)[1]))
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        code, out, err = await setup.cli(
            "download", "1", "-o", "archive.tar.gz", "--output", "json",
            url=f"http://127.0.0.1:{port}",
        )  # fmt: skip
    finally:
        server.close()
        await proxy.close()
        await server.wait_closed()
    assert code == 0, err
    assert proxy.cut
    size = int(str(gathering["archive-size"]))
    ranges = [r for r in proxy.requests if b"range: bytes=" in r.lower()]
    assert len(ranges) == 1
    offset = int(ranges[0].lower().split(b"range: bytes=")[1].split(b"-")[0])
    assert 0 < offset < size
    assert b"if-range: " in ranges[0].lower()
    saved = json.loads(out)
    archive = setup.home / "archive.tar.gz"
    assert saved["path"] == str(archive) and saved["size"] == size
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == gathering["archive-sha256"]
    assert not (setup.home / "archive.tar.gz.part").exists()


async def partial_download(setup: Setup, gathering: dict[str, object], target: Path) -> bytes:
    """What an interrupted earlier run leaves: half the bytes, and what they were part of."""
    async with httpx2.AsyncClient(base_url=setup.url) as client:
        response = await client.get("/must-gather/1/data")
    half = response.content[: len(response.content) // 2]
    target.with_name(target.name + ".part").write_bytes(half)
    meta = {"etag": response.headers["etag"], "sha256": gathering["archive-sha256"]}
    target.with_name(target.name + ".part.json").write_text(json.dumps(meta))
    return half


async def test_a_partial_file_is_resumed_by_the_next_run(setup: Setup) -> None:
    gathering = await setup.gathered()
    target = setup.home / "resumed.tar.gz"
    half = await partial_download(setup, gathering, target)

    code, out, err = await setup.cli("download", "1", "-o", str(target))

    assert code == 0, err
    assert f"resumed at byte {len(half)})" in out
    assert hashlib.sha256(target.read_bytes()).hexdigest() == gathering["archive-sha256"]
    assert sorted(p.name for p in setup.home.iterdir()) == ["resumed.tar.gz"]


async def test_a_corrupt_partial_file_fails_the_checksum_and_is_removed(setup: Setup) -> None:
    gathering = await setup.gathered()
    target = setup.home / "corrupt.tar.gz"
    half = await partial_download(setup, gathering, target)
    target.with_name("corrupt.tar.gz.part").write_bytes(bytes(len(half)))

    code, _out, err = await setup.cli("download", "1", "-o", str(target))

    assert code == 1
    assert "does not match its sha256" in err and "run the command again" in err
    assert err.count("\n") == 1
    assert list(setup.home.iterdir()) == []
    code, _out, err = await setup.cli("download", "1", "-o", str(target))
    assert code == 0, err
    assert hashlib.sha256(target.read_bytes()).hexdigest() == gathering["archive-sha256"]


async def test_a_partial_file_of_another_archive_is_not_resumed(setup: Setup) -> None:
    gathering = await setup.gathered()
    target = setup.home / "other.tar.gz"
    await partial_download(setup, {"archive-sha256": "0" * 64}, target)

    code, out, err = await setup.cli("download", "1", "-o", str(target), "--output", "json")

    assert code == 0, err
    assert json.loads(out)["resumed-from"] == 0
    assert hashlib.sha256(target.read_bytes()).hexdigest() == gathering["archive-sha256"]


async def test_an_existing_other_file_is_not_overwritten(setup: Setup) -> None:
    await setup.gathered()
    (setup.home / "taken.tar.gz").write_text("mine\n")
    code, _out, err = await setup.cli("download", "1", "-o", "taken.tar.gz")
    assert code == 2 and "exists and is another file" in err
    assert (setup.home / "taken.tar.gz").read_text() == "mine\n"
