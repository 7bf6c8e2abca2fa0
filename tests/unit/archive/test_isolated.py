"""The archive worker process: killed when its job is cancelled, capped in memory."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from must_gather_api.archive import isolated

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]


def workers() -> list[int]:
    """This process's children that run the archive worker."""
    found = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"must_gather_api.archive.worker" in cmdline:
                found.append(int(pid))
    return found


async def test_a_cancelled_job_kills_its_worker(tmp_path: Path) -> None:
    fifo = tmp_path / "never-written"
    os.mkfifo(fifo)  # opening it for reading blocks forever
    request = {"operation": "extract", "source": str(fifo), "root": str(tmp_path / "r")}
    job = asyncio.create_task(isolated.run(request, deadline=time.monotonic() + 60))
    while not workers():
        await asyncio.sleep(0.05)  # another process starting: no event to wait on
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert workers() == []


async def test_a_worker_past_its_memory_cap_is_reported_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(isolated, "MEMORY_BYTES", 1 << 20)
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(b"\x1f\x8b" + b"\0" * 100)
    request = {"operation": "check", "source": str(archive), "gzip": True}
    with pytest.raises(isolated.WorkerFailed) as failed:
        await isolated.run(request, deadline=time.monotonic() + 10)
    assert failed.value.kind in ("stopped", "memory")
