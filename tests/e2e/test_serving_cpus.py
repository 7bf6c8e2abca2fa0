"""SERVING_CPUS: `serve` (granian and its worker, every thread) runs on the CPUs it keeps,
and the copy and archive workers it starts run on the others from their start."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import pytest

from support.cpus import ALLOWED, BACKGROUND, SERVING, two_cpus
from support.gathering_calls import client_for, poll, post, says
from support.processes import kubesim_process, service_environment, service_process

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.timeout(120),
    two_cpus,
]

NEVER_ENDS = "kubesim.local/must-gather-never-ends:latest"
WORKERS = ("must_gather_api.executors.kubernetes.copy_worker", "must_gather_api.archive.worker")


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(FileNotFoundError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError):
                for child in (task / "children").read_text().split():
                    found += [int(child), *descendants(int(child))]
    return found


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def thread_cpus(pid: int) -> set[frozenset[int]]:
    """The CPU sets the threads of ``pid`` may run on, one per distinct set."""
    masks: set[frozenset[int]] = set()
    with contextlib.suppress(FileNotFoundError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(ProcessLookupError):
                masks.add(frozenset(os.sched_getaffinity(int(task.name))))
    return masks


async def workers_of(pid: int) -> dict[str, list[int]]:
    """The service's spare copy and archive workers, once one of each is there."""
    async with asyncio.timeout(60):
        while True:
            found: dict[str, list[int]] = {module: [] for module in WORKERS}
            for child in descendants(pid):
                for module in WORKERS:
                    if f"-m {module}" in command_of(child):
                        found[module].append(child)
            if all(found.values()):
                return found
            await asyncio.sleep(0.1)  # another process's children: nothing to await


async def test_the_server_keeps_its_cpus_and_the_workers_get_the_others(tmp_path: Path) -> None:
    async with (
        kubesim_process(tmp_path / "kubesim") as cluster,
        service_process(
            tmp_path / "service",
            server="granian",
            **service_environment(cluster, credentials="service"),
            SERVING_CPUS="1",
        ) as service,
    ):
        assert service.process is not None
        gathering = await post(
            service, {"image": NEVER_ENDS, "command": "HEARTBEAT_SECONDS=0.2 /usr/bin/gather"}
        )
        # Its pod gathers: the service has started a spare of each worker for it.
        await poll(service, gathering, says("still gathering"))
        workers = await workers_of(service.process.pid)
        servers = [
            pid
            for pid in [service.process.pid, *descendants(service.process.pid)]
            if "must_gather_api serve" in command_of(pid)
        ]
        assert len(servers) == 2  # granian's main process and its one worker
        for pid in servers:
            # Every thread: granian's runtime threads, the event loop, the lookups' pool.
            assert thread_cpus(pid) == {SERVING}, command_of(pid)
        for pids in workers.values():
            for pid in pids:
                assert thread_cpus(pid) == {BACKGROUND}, command_of(pid)
        async with client_for(service) as api:
            assert (await api.delete(f"/must-gather/{gathering}")).status_code == 200
    assert os.sched_getaffinity(0) == set(ALLOWED)
