"""The client commands as a person or a script runs them, against the service on a real port.

The service runs in the test's event loop with the fake executor; the client is its own
process, as it would be on someone's machine.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import sys
import tarfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from support.executors import FakeExecutor
from support.service import free_port, make_settings, served_app

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

CLI = [sys.executable, "-m", "must_gather_api"]


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


@dataclass
class Service:
    url: str
    executor: FakeExecutor
    home: Path

    def environment(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": os.environ["PATH"],
            "HOME": str(self.home),
            "MUST_GATHER_API_URL": self.url,
            **extra,
        }

    async def cli(self, *args: str, cwd: Path | None = None, **extra: str) -> Result:
        process = await asyncio.create_subprocess_exec(
            *CLI,
            *args,
            env=self.environment(**extra),
            cwd=cwd or self.home,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(45):
            out, err = await process.communicate()
        return Result(process.returncode or 0, out.decode(), err.decode())

    async def start(self, *args: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *CLI,
            *args,
            env=self.environment(),
            cwd=self.home,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )


@pytest_asyncio.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    executor = FakeExecutor()
    home = tmp_path / "home"
    home.mkdir()
    async with served_app(make_settings(tmp_path), executor=executor) as url:
        yield Service(url, executor, home)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def read_until(stream: asyncio.StreamReader, text: str) -> str:
    seen = ""
    async with asyncio.timeout(20):
        while text not in seen:
            line = await stream.readline()
            assert line, f"the stream ended before {text!r}: {seen!r}"
            seen += line.decode()
    return seen


async def test_run_wait_download_saves_the_checked_archive(service: Service) -> None:
    target = service.home / "out"
    target.mkdir()

    result = await service.cli("run", "--wait", "--download", "-o", f"{target}/", "--name", "smoke")

    assert result.code == 0, result.err
    assert "gathering 1 started" in result.out
    assert "[fake] gathering with" in result.out
    assert "gathering 1 completed" in result.out
    [archive] = list(target.iterdir())
    assert f"saved: {archive} (" in result.out and "checked" in result.out
    described = (await service.cli("get", "smoke", "--output", "json")).json()
    assert isinstance(described, dict)
    assert archive.name == described["archive-name"]
    assert sha256(archive) == described["archive-sha256"]
    with tarfile.open(archive) as tar:
        assert any(name.endswith("namespaces/default/events.yaml") for name in tar.getnames())
    assert result.err == ""


async def test_json_output_of_every_command_parses(service: Service) -> None:
    ran = (await service.cli("run", "--download", "--output", "json", "--name", "j")).json()
    assert isinstance(ran, dict)
    assert ran["status"] == "completed" and ran["custom-name"] == "j"
    saved = Path(ran["downloaded-to"])
    assert saved.parent == service.home and sha256(saved) == ran["archive-sha256"]

    started = (await service.cli("run", "--image", "fake/block", "--output", "json")).json()
    assert isinstance(started, dict) and started["status"] in ("new", "inprogress")
    listed = (await service.cli("list", "--output", "json")).json()
    assert isinstance(listed, list) and [item["id"] for item in listed] == [1, 2]
    only = (await service.cli("list", "--status", "completed", "--output", "json")).json()
    assert isinstance(only, list) and [item["id"] for item in only] == [1]
    got = (await service.cli("get", "j", "--output", "json")).json()
    assert isinstance(got, dict) and got["id"] == 1
    logs = (await service.cli("logs", "1", "--output", "json")).json()
    assert isinstance(logs, dict) and "[fake] done" in logs["output"]
    again = (await service.cli("download", "1", "--output", "json")).json()
    assert isinstance(again, dict) and again["already-there"] is True
    cancelled = (await service.cli("cancel", "2", "--output", "json")).json()
    assert isinstance(cancelled, dict) and cancelled["error-reason"] == "cancelled"
    deleted = (await service.cli("delete", "2", "--output", "json")).json()
    assert deleted == {"id": 2, "deleted": True}


async def test_list_and_get_as_text(service: Service) -> None:
    assert (await service.cli("run", "--wait", "--name", "plan:a b")).code == 0
    table = await service.cli("list")
    assert table.code == 0
    header, row = table.out.splitlines()
    assert header.split() == ["ID", "CUSTOM-NAME", "STATUS", "AGE", "SIZE"]
    assert row.split()[:2] == ["1", "plan:a"] and "completed" in row and "B" in row
    shown = await service.cli("get", "plan:a b")
    assert "custom-name:" in shown.out and "plan:a b" in shown.out
    assert "[fake] done" in shown.out


async def test_a_gathering_that_ends_in_error_exits_1(service: Service) -> None:
    result = await service.cli("run", "--wait", "--image", "fake/fail")
    assert result.code == 1
    assert (
        result.err
        == "must-gather-api: error: gathering 1 ended in error: gather exited with code 1\n"
    )
    followed = await service.cli("logs", "-f", "1")
    assert followed.code == 1 and "[fake] gathering with fake/fail" in followed.out


async def test_usage_errors_exit_2(service: Service) -> None:
    unknown = await service.cli("run", "--no-such-option")
    assert unknown.code == 2
    refused = await service.cli("run", "--timeout", "15x")
    assert refused.code == 2
    assert refused.err.startswith("must-gather-api: error: the server refused the request: timeout")
    assert refused.err.count("\n") == 1
    no_server = await service.cli("list", MUST_GATHER_API_URL="")
    assert no_server.code == 2 and "--server" in no_server.err
    both = await service.cli("list", "--insecure", "--ca-file", "/etc/hosts")
    assert both.code == 2 and "not both" in both.err


async def test_an_unreachable_server_exits_3(service: Service) -> None:
    result = await service.cli("list", "--server", f"http://127.0.0.1:{free_port()}")
    assert result.code == 3
    assert result.err.startswith("must-gather-api: error: cannot connect to http://127.0.0.1:")
    assert result.err.count("\n") == 1


async def test_not_found_exits_4(service: Service) -> None:
    missing = await service.cli("get", "999")
    assert missing.code == 4 and "gathering '999'" in missing.err
    assert (await service.cli("download", "no-such-name")).code == 4
    assert (await service.cli("logs", "-f", "no-such-name")).code == 4
    started = (await service.cli("run", "--image", "fake/block", "--output", "json")).json()
    assert isinstance(started, dict)
    not_ready = await service.cli("download", str(started["id"]))
    assert not_ready.code == 4 and "not ready" in not_ready.err
    service.executor.release(started["id"])


async def test_logs_follow_shows_output_as_it_comes(service: Service) -> None:
    assert (await service.cli("run", "--image", "fake/block")).code == 0
    await service.executor.wait_started(1)
    process = await service.start("logs", "-f", "1")
    assert process.stdout is not None
    # The line is on the client's stdout while the gathering still runs.
    await read_until(process.stdout, "[fake] gathering with fake/block")
    assert process.returncode is None
    service.executor.release(1)
    async with asyncio.timeout(20):
        assert await process.wait() == 0


async def test_cancel_and_delete(service: Service) -> None:
    assert (await service.cli("run", "--image", "fake/block", "--name", "long")).code == 0
    await service.executor.wait_started(1)
    refused = await service.cli("delete", "long")
    assert refused.code == 1 and "still inprogress" in refused.err and "--force" in refused.err
    cancelled = await service.cli("cancel", "long")
    assert cancelled.code == 0 and cancelled.out == "gathering 1 cancelled (cancelled)\n"
    assert service.executor.cancelled == [1]
    again = await service.cli("cancel", "1")
    assert again.code == 1 and "already ended (error)" in again.err
    assert (await service.cli("delete", "1")).code == 0
    assert (await service.cli("get", "1")).code == 4

    assert (await service.cli("run", "--image", "fake/block")).code == 0
    await service.executor.wait_started(2)
    forced = await service.cli("delete", "2", "--force")
    assert forced.code == 0 and forced.out == "gathering 2 deleted\n"
    assert (await service.cli("get", "2")).code == 4


async def test_ctrl_c_without_a_terminal_leaves_the_gathering_running(service: Service) -> None:
    process = await service.start("run", "--wait", "--image", "fake/block")
    assert process.stdout is not None and process.stderr is not None
    await read_until(process.stdout, "[fake] gathering with fake/block")
    process.send_signal(signal.SIGINT)
    async with asyncio.timeout(20):
        code = await process.wait()
    err = (await process.stderr.read()).decode()
    assert code == 130
    assert "gathering 1 goes on running on the server (stdin is not a terminal" in err
    assert "must-gather-api cancel 1" in err
    assert (await service.cli("get", "1", "--output", "json")).json()["status"] == "inprogress"  # type: ignore[index]
    service.executor.release(1)


async def test_files_and_summary_of_an_archive_on_the_server(service: Service) -> None:
    assert (await service.cli("run", "--wait")).code == 0
    listing = await service.cli("files", "1")
    assert listing.code == 0, listing.err
    header, *rows = listing.out.splitlines()
    assert header.split() == ["TYPE", "SIZE", "MODIFIED", "PATH"]
    assert [row.split()[-1] for row in rows] == [
        "must-gather",
        "must-gather/namespaces",
        "must-gather/version",
        "must-gather/namespaces/default",
        "must-gather/namespaces/default/events.yaml",
    ]
    printed = await service.cli("files", "1", "must-gather/version")
    assert (printed.code, printed.out) == (0, "fake/ok\n1.0.0\n")
    under = (await service.cli("files", "1", "must-gather/namespaces", "--output", "json")).json()
    assert isinstance(under, list)
    assert [item["path"] for item in under] == [
        "must-gather/namespaces/default",
        "must-gather/namespaces/default/events.yaml",
    ]
    missing = await service.cli("files", "1", "must-gather/nope")
    assert missing.code == 4 and "no file has that path in the archive" in missing.err

    summary = await service.cli("summary", "1")
    assert summary.code == 0, summary.err
    assert summary.out.splitlines()[0].split() == [
        "gathering",
        "1:",
        "0",
        "errors",
        "0",
        "warnings",
        "0",
        "infos",
    ]
    assert "fake/ok 1.0.0" in summary.out
    body = (await service.cli("summary", "1", "--output", "json")).json()
    assert isinstance(body, dict) and body["findings"] == []
    assert (await service.cli("summary", "9")).code == 4
