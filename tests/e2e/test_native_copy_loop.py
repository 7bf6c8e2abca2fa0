"""The copy's exec stream is received on a loop and thread of its own, and a cancel mid-stream
stops it there: no thread, socket or client is left, and the partial copy is removed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from kubesim.cluster import Cluster
from must_gather_api.executors.kubernetes import copying
from must_gather_api.executors.kubernetes.exec_channels import ExecEnding, stdout_of
from support.native import Lines, clients_made, closed, executor_for, image_dirs, job, leftovers

pytestmark = pytest.mark.timeout(120)


def copy_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("copy-")]


class Frames:
    """Stands in for ``copying.stdout_of``: the same frames, noting the thread of each."""

    def __init__(self, *, stall: bool = False) -> None:
        self.threads: list[tuple[int, str]] = []
        self.loops: set[asyncio.AbstractEventLoop] = set()
        self.stall = stall
        self.test_loop = asyncio.get_running_loop()
        self.first = asyncio.Event()

    async def __call__(
        self, socket: aiohttp.ClientWebSocketResponse, ending: ExecEnding
    ) -> AsyncIterator[bytes]:
        async for data in stdout_of(socket, ending):
            self.threads.append((threading.get_ident(), threading.current_thread().name))
            self.loops.add(asyncio.get_running_loop())
            self.test_loop.call_soon_threadsafe(self.first.set)
            yield data
            if self.stall:  # mid-stream with the socket open, until the copy is cancelled
                await asyncio.get_running_loop().create_future()


@pytest.mark.asyncio
async def test_the_copy_stream_is_received_off_the_callers_loop(
    kubesim: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = Frames()
    monkeypatch.setattr(copying, "stdout_of", frames)
    executor = await executor_for(kubesim, tmp_path)
    made = clients_made(executor, monkeypatch)
    gathering = job(tmp_path)
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert outcome.succeeded, outcome.error_reason
    assert image_dirs(gathering.work_dir)
    assert frames.threads
    assert threading.get_ident() not in {ident for ident, _ in frames.threads}
    assert all(name.startswith("copy-must-gather-") for _, name in frames.threads)
    assert asyncio.get_running_loop() not in frames.loops
    assert all(loop.is_closed() for loop in frames.loops)
    assert copy_threads() == []
    # The copy's own client is made from the gathering's; the executor made only its one.
    assert len(made) == 1 and closed(made[0])


@pytest.mark.asyncio
async def test_a_copy_cancelled_mid_stream_stops_and_leaves_nothing(
    kubesim: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = Frames(stall=True)
    monkeypatch.setattr(copying, "stdout_of", frames)
    executor = await executor_for(kubesim, tmp_path)
    made = clients_made(executor, monkeypatch)
    threads_before = len(threading.enumerate())
    gathering = job(tmp_path)
    task = asyncio.create_task(executor.run(gathering, Lines()), name="gathering-under-test")
    await frames.first.wait()
    assert len(copy_threads()) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(frames.threads) == 1  # it stopped where it stalled
    assert copy_threads() == []
    assert all(loop.is_closed() for loop in frames.loops)
    # The asyncio.to_thread pool of this loop may have grown; nothing else has.
    pool = [t for t in threading.enumerate() if t.name.startswith("asyncio_")]
    assert len(threading.enumerate()) - len(pool) <= threads_before
    assert list(gathering.work_dir.parent.glob("copy-*.tar")) == []  # removed, as before
    assert leftovers(kubesim) == []
    assert len(made) == 1 and closed(made[0])
