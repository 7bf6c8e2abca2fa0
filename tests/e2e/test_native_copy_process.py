"""Each pod's copy is received in a worker process of its own: the service process decodes
none of its frames, a cancel mid-stream stops the worker and leaves nothing behind, a worker
killed mid-copy fails the copy in words a person can act on, and the token reaches the worker
over its stdin only."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from kubesim.auth import ADMIN_TOKEN
from kubesim.cluster import Cluster
from kubesim.kubelet import execs
from must_gather_api.executors.kubernetes import copy_stream, copying
from must_gather_api.executors.kubernetes.copy_worker import MEMORY_BYTES, NICENESS
from must_gather_api.executors.kubernetes.exec_channels import ExecEnding
from support.native import Lines, clients_made, closed, executor_for, image_dirs, job, leftovers

pytestmark = pytest.mark.timeout(120)

LIMIT = 50 << 20


class Workers:
    """Every copy worker started from now on (the service's other children are not)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started: list[asyncio.subprocess.Process] = []
        self.first = asyncio.Event()
        original = asyncio.create_subprocess_exec

        async def recording(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
            process = await original(*args, **kwargs)
            if copying.WORKER in args:
                self.started.append(process)
                self.first.set()
            return process

        monkeypatch.setattr(asyncio, "create_subprocess_exec", recording)


class Stall:
    """kubesim's copy sessions send their first stdout frame, then hold the stream open
    (sending nothing more) until the client leaves."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent = asyncio.Event()
        self.ended = asyncio.Event()
        original = execs._Session._send
        stall = self

        async def send(session: execs._Session, channel: int, data: bytes) -> None:
            await original(session, channel, data)
            if channel == execs.STDOUT and data and "tar" in " ".join(session.request.argv):
                stall.sent.set()
                try:
                    await asyncio.get_running_loop().create_future()
                finally:
                    stall.ended.set()

        monkeypatch.setattr(execs._Session, "_send", send)


def never_here(socket: aiohttp.ClientWebSocketResponse, ending: ExecEnding) -> AsyncIterator[bytes]:
    raise AssertionError("a copy stream was decoded in the service's process")


def waitpid_threads() -> list[threading.Thread]:
    """asyncio's child watcher: a thread per child, until the child is reaped."""
    return [t for t in threading.enumerate() if t.name.startswith("waitpid-")]


def proc_text(pid: int, name: str) -> bytes:
    return Path(f"/proc/{pid}/{name}").read_bytes()


def pipes(pid: int | str = "self") -> set[str]:
    """The pipes a process holds open, by inode."""
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:  # closed as the directory was read
            continue
        if target.startswith("pipe:"):
            found.add(target)
    return found


def rlimit(pid: int, name: str) -> str:
    """The soft limit ``name`` ("Max file size") of a process, as /proc shows it."""
    for line in proc_text(pid, "limits").decode().splitlines():
        if line.startswith(name):
            return line[len(name) :].split()[0]
    raise AssertionError(f"no {name} in /proc/{pid}/limits")


def niceness(pid: int) -> int:
    fields = proc_text(pid, "stat").rsplit(b")", 1)[1].split()
    return int(fields[16])  # field 19 of proc(5), counted after the command's name


@pytest.mark.asyncio
async def test_the_copy_stream_is_received_in_a_worker_process(
    kubesim: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Patched in this process only: a worker is another interpreter, with its own modules.
    monkeypatch.setattr(copy_stream, "stdout_of", never_here)
    workers = Workers(monkeypatch)
    executor = await executor_for(kubesim, tmp_path)
    made = clients_made(executor, monkeypatch)
    gathering = job(tmp_path)
    outcome = await executor.run(gathering, Lines())
    assert outcome.succeeded, outcome.error_reason
    assert image_dirs(gathering.work_dir)
    assert len(workers.started) == 1  # one image, one pod, one copy
    assert [worker.returncode for worker in workers.started] == [0]
    assert workers.started[0].pid != os.getpid()
    # The worker makes no client of the service's: the executor made only its one.
    assert len(made) == 1 and closed(made[0])


@pytest.mark.asyncio
async def test_a_copy_cancelled_mid_stream_stops_its_worker_and_leaves_nothing(
    kubesim: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stall = Stall(monkeypatch)
    workers = Workers(monkeypatch)
    executor = await executor_for(kubesim, tmp_path, max_archive_bytes=str(LIMIT))
    made = clients_made(executor, monkeypatch)
    gathering = job(tmp_path)
    task = asyncio.create_task(executor.run(gathering, Lines()), name="gathering-under-test")
    await stall.sent.wait()
    assert len(workers.started) == 1
    worker = workers.started[0]
    worker_pipes = pipes(worker.pid)
    assert len(worker_pipes & pipes()) == 2  # its stdout and stderr (stdin is closed)
    assert worker.returncode is None
    # The worker runs below the service's priority, and its command line and environment
    # carry no credentials (the token went over its stdin).
    assert niceness(worker.pid) == niceness(os.getpid()) + NICENESS or niceness(worker.pid) == 19
    assert os.sched_getscheduler(worker.pid) == os.SCHED_IDLE
    # The kernel caps what the hostile stream can make the worker take: memory, and the
    # file it writes (at the gathering's MAX_ARCHIVE_BYTES).
    assert rlimit(worker.pid, "Max address space") == str(MEMORY_BYTES)
    assert rlimit(worker.pid, "Max file size") == str(LIMIT)
    assert ADMIN_TOKEN.encode() not in proc_text(worker.pid, "cmdline")
    assert ADMIN_TOKEN.encode() not in proc_text(worker.pid, "environ")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert worker.returncode is not None  # reaped before the cancel returned
    assert not Path(f"/proc/{worker.pid}").exists()
    # The worker closed its websocket: the exec session in the cluster ended.
    async with asyncio.timeout(30):
        await stall.ended.wait()
    for thread in waitpid_threads():
        thread.join(timeout=10)
    assert waitpid_threads() == []
    assert worker_pipes & pipes() == set()
    assert list(gathering.work_dir.parent.glob("copy-*.tar")) == []  # removed, as before
    assert leftovers(kubesim) == []
    assert len(made) == 1 and closed(made[0])


@pytest.mark.asyncio
async def test_a_worker_killed_mid_copy_fails_the_copy_in_plain_words(
    kubesim: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stall = Stall(monkeypatch)
    workers = Workers(monkeypatch)
    executor = await executor_for(kubesim, tmp_path)
    gathering = job(tmp_path)
    task = asyncio.create_task(executor.run(gathering, Lines()), name="gathering-under-test")
    await stall.sent.wait()
    os.kill(workers.started[0].pid, signal.SIGKILL)
    outcome = await task
    assert not outcome.succeeded
    reason = outcome.error_reason
    assert "copy" in reason and "stopped unexpectedly" in reason, reason
    assert "killed (SIGKILL)" in reason, reason
    assert str(tmp_path) not in reason and "Error" not in reason and sys.executable not in reason
    assert len(workers.started) == 1
    assert list(gathering.work_dir.parent.glob("copy-*.tar")) == []
    assert leftovers(kubesim) == []
