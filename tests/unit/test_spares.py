"""Worker processes started before they are needed: handed over once, capped, reaped."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from must_gather_api import spares
from must_gather_api.archive import isolated
from must_gather_api.executors.kubernetes import copying
from must_gather_api.spares import Command, Spares
from support.cpus import ALLOWED, BACKGROUND, as_if_reserved, two_cpus

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

# Reads its whole stdin, then answers: what a worker does with its request.
ECHO = Command("json.tool", environment=(("SPARES_TEST", "1"),))


def children() -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found.update(int(pid) for pid in (task / "children").read_text().split())
    return found


async def ready(kept: Spares) -> None:
    """Every spare being started has started."""
    await asyncio.gather(*[task for tasks in kept.starting.values() for task in tasks])


async def answer(process: asyncio.subprocess.Process, request: object) -> object:
    stdout, _ = await process.communicate(json.dumps(request).encode())
    assert process.returncode == 0
    return json.loads(stdout)


async def test_without_keeping_nothing_is_started_ahead() -> None:
    before = children()
    spares.prepare(ECHO)
    await asyncio.sleep(0)  # a spare would have been started by now
    assert children() == before
    process = await spares.start(ECHO)
    assert await answer(process, {"a": 1}) == {"a": 1}


@two_cpus
async def test_with_serving_cpus_a_worker_runs_on_the_background_cpus_from_its_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    as_if_reserved(monkeypatch)
    process = await spares.start(ECHO)
    assert os.sched_getaffinity(process.pid) == BACKGROUND
    assert await answer(process, {"a": 1}) == {"a": 1}
    assert os.sched_getaffinity(0) == set(ALLOWED)  # the service stays where it was


async def test_a_prepared_spare_is_the_process_the_job_gets() -> None:
    before = children()
    async with spares.keeping() as kept:
        spares.prepare(ECHO)
        await ready(kept)
        [waiting] = kept.ready[ECHO]
        assert children() - before == {waiting.pid}
        process = await spares.start(ECHO)
        assert process is waiting
        assert kept.ready[ECHO] == []
        assert await answer(process, [1, 2]) == [1, 2]
        fresh = await spares.start(ECHO)  # none left: a fresh one
        assert fresh is not waiting
        assert await answer(fresh, "x") == "x"
    assert children() == before


async def test_after_a_block_within_another_the_outer_spares_are_used_again() -> None:
    async with spares.keeping() as outer:
        async with spares.keeping() as inner:
            spares.prepare(ECHO)
            await ready(inner)
        assert not inner.ready, "the inner block's spares outlived it"
        spares.prepare(ECHO)
        await ready(outer)
        [waiting] = outer.ready[ECHO]
        assert await spares.start(ECHO) is waiting
        await answer(waiting, 1)


async def test_spares_are_capped_per_command() -> None:
    async with spares.keeping(kept=2) as kept:
        for _ in range(5):
            spares.prepare(ECHO)
        await ready(kept)
        assert len(kept.ready[ECHO]) == 2
        other = Command("json.tool")  # another environment is another command
        spares.prepare(other)
        await ready(kept)
        assert len(kept.ready[other]) == 1


async def test_spares_left_at_the_end_are_killed_and_reaped() -> None:
    before = children()
    async with spares.keeping() as kept:
        spares.prepare(ECHO)
        spares.prepare(ECHO)
        await ready(kept)
        left = kept.ready[ECHO][:]
        assert len(left) == 2
    assert [process.returncode for process in left] == [-9, -9]
    assert children() == before
    spares.prepare(ECHO)  # after the end: nothing kept any more
    assert children() == before


async def test_a_spare_that_ended_is_passed_over_and_reaped() -> None:
    before = children()
    async with spares.keeping() as kept:
        spares.prepare(ECHO)
        await ready(kept)
        [dead] = kept.ready[ECHO]
        dead.kill()
        await dead.wait()
        process = await spares.start(ECHO)
        assert process is not dead
        assert await answer(process, {"b": 2}) == {"b": 2}
    assert children() == before


@pytest.mark.parametrize("command", [isolated.COMMAND, copying.command()], ids=["archive", "copy"])
async def test_a_spare_whose_service_ends_exits_without_a_word(command: Command) -> None:
    # The service's end closes the spare's stdin: an empty request, not a crash.
    process = await spares.spawn(command)
    stdout, stderr = await process.communicate(b"")
    assert (process.returncode, stdout, stderr) == (0, b"", b"")


async def test_the_archive_worker_answers_as_a_spare(tmp_path: Path) -> None:
    archive = tmp_path / "not-an-archive.tar.gz"
    archive.write_bytes(b"plain text")
    async with spares.keeping() as kept:
        isolated.prepare()
        await ready(kept)
        [waiting] = kept.ready[isolated.COMMAND]
        request = {"operation": "check", "source": str(archive), "gzip": True}
        with pytest.raises(isolated.WorkerFailed) as failed:
            await isolated.run(request, deadline=time.monotonic() + 10)
        assert waiting.returncode == 0  # it was the one that answered
        assert kept.ready[isolated.COMMAND] == []
    assert failed.value.kind == "not-tar"
