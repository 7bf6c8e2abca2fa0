"""The service killed (SIGKILL) or stopped (SIGTERM) mid-gathering, as its own process against
a kubesim process: after a restart nothing is lost, nothing stays running, nothing of ours is
left in the cluster, and every archive served matches its recorded sha256.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from support.gathering_calls import (
    client_for,
    everything_settles,
    file_appears,
    log_says,
    poll,
    post,
    says,
)
from support.postgres import fresh_database
from support.processes import (
    KubesimProcess,
    ServiceProcess,
    kubesim_process,
    service_environment,
    service_process,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(180)]

NEVER_ENDS = "kubesim.local/must-gather-never-ends:latest"
LARGE = "kubesim.local/must-gather-large-output:latest"
ORIGIN = "quay.io/openshift/origin-must-gather:latest"
SQLITE, POSTGRES = "sqlite", "postgresql"


async def crash_at(
    service: ServiceProcess, moment: Callable[[], Awaitable[object]], ids: list[int]
) -> None:
    """Wait for ``moment``, SIGKILL the service, start it again."""
    await moment()
    await service.kill()
    await service.start()
    async with client_for(service) as api:
        for gathering_id in ids:
            response = await api.get(f"/must-gather/{gathering_id}")
            assert response.status_code == 200, f"record {gathering_id} lost by the crash"


async def metric(service: ServiceProcess, name: str) -> float:
    async with client_for(service) as api:
        text = (await api.get("/metrics")).text
    [line] = [line for line in text.splitlines() if line.startswith(f"{name} ")]
    return float(line.split()[1])


async def leftovers_are_named(cluster: KubesimProcess, records: list[dict[str, Any]]) -> list[str]:
    """deploy/'s RBAC with caller credentials: the service may not delete a namespace a
    gathering left when it was killed. Each one left is named, with the command that removes
    it, in its gathering's error-reason; nothing else is left."""
    named = {
        word
        for record in records
        for word in record["error-reason"].replace(")", " ").split()
        if word.startswith("openshift-must-gather-")
        and f"kubectl delete namespace {word}" in record["error-reason"]
    }
    left = await cluster.leftovers()
    namespaces = sorted(item.split("/", 1)[1] for item in left if item.startswith("namespace/"))
    assert namespaces == sorted(named), (left, [r["error-reason"] for r in records])
    return namespaces


@asynccontextmanager
async def database(request: pytest.FixtureRequest, name: str) -> AsyncIterator[dict[str, str]]:
    """The service's store: SQLite in its state directory, or a fresh PostgreSQL database
    under a fixed REPLICA_NAME (a restarted pod keeps its name, so it resumes its own
    gatherings at once instead of waiting for their leases to lapse)."""
    if name == SQLITE:
        yield {}
        return
    # The server fixture is synchronous: an async one cannot be set up from a running test.
    async with fresh_database(request.getfixturevalue("postgres_server_url")) as url:
        yield {"DATABASE_URL": url, "REPLICA_NAME": "the-replica"}


# The RBAC deploy/ ships: caller credentials get auth-delegator only, service credentials
# the service-credentials component's role as well. The store on PostgreSQL once, with the
# credentials that resume what was running.
@pytest.mark.parametrize(
    ("credentials", "rbac", "store"),
    [
        ("service", "deploy-service", SQLITE),
        ("caller", "deploy", SQLITE),
        pytest.param("service", "deploy-service", POSTGRES, marks=pytest.mark.postgres),
    ],
)
async def test_sigkill_while_queued_running_copying_and_packing(
    tmp_path: Path, request: pytest.FixtureRequest, credentials: str, rbac: str, store: str
) -> None:
    async with (
        database(request, store) as store_environment,
        kubesim_process(tmp_path / "kubesim", rbac=rbac) as cluster,
        service_process(
            tmp_path / "service",
            **service_environment(cluster, credentials=credentials),
            **store_environment,
            MAX_CONCURRENT_GATHERINGS="1",
        ) as service,
    ):
        ids: list[int] = []
        # 1. one running (its pod up and printing), one queued behind it.
        running = await post(
            service,
            {
                "image": NEVER_ENDS,
                "command": "HEARTBEAT_SECONDS=0.2 /usr/bin/gather",
                "timeout": "8s",
            },
        )
        queued = await post(service, {"image": ORIGIN, "custom-name": "queued"})
        ids += [running, queued]
        await crash_at(service, lambda: poll(service, running, says("still gathering")), ids)
        await everything_settles(service, ids)

        # 2. copying: the pod's output is being downloaded.
        copying = await post(
            service, {"image": LARGE, "command": "OUTPUT_BYTES=300000000 /usr/bin/gather"}
        )
        ids.append(copying)
        await crash_at(
            service,
            lambda: poll(service, copying, says("downloading gather output"), interval=0.01),
            ids,
        )

        # 3. packing: the archive is half written.
        packing = await post(
            service, {"image": LARGE, "command": "OUTPUT_BYTES=300000000 /usr/bin/gather"}
        )
        ids.append(packing)
        partial = service.data_dir / "gatherings" / str(packing) / "archive.partial"
        await crash_at(service, lambda: file_appears(partial), ids)

        records = await everything_settles(service, ids)
        if credentials == "caller":
            left = await leftovers_are_named(cluster, records)
            assert left, "the running gathering's namespace was expected to be left"
            assert await metric(service, "must_gather_api_leftover_namespaces") == len(left)
            await service.kill()
            await service.start()
            await log_says(service, "LEFTOVER:")
            assert f"kubectl delete namespace {left[0]}" in service.log()
            async with cluster.client() as admin:
                for name in left:
                    (await admin.delete(f"/api/v1/namespaces/{name}")).raise_for_status()
            await cluster.no_leftovers()
            await service.kill()
            await service.start()
            assert await metric(service, "must_gather_api_leftover_namespaces") == 0
        await cluster.no_leftovers()
        assert not list((service.data_dir / "gatherings").glob("*/archive.partial"))
        assert not list((service.data_dir / "gatherings").glob("*/work"))
        assert not list((service.data_dir / "gatherings").glob("*/copy-*.tar"))
        by_id = {r["id"]: r for r in records}
        assert by_id[packing]["status"] == "error" or by_id[packing]["archive-size"] > 0
        if credentials == "caller":
            # The caller's token lived in memory only: the queued one says so.
            assert "no caller token" in by_id[queued]["error-reason"]
        print(f"\n[{credentials}] after 3 SIGKILLs:")  # noqa: T201 - the figures the report quotes
        for record in records:
            print(f"  {record['id']} {record['status']}: {record['error-reason']}")  # noqa: T201 - the figures the report quotes


async def test_sigterm_lets_a_short_gathering_finish_and_cancels_a_long_one(
    tmp_path: Path,
) -> None:
    async with (
        kubesim_process(tmp_path / "kubesim") as cluster,
        service_process(
            tmp_path / "service",
            **service_environment(cluster, credentials="service"),
            SHUTDOWN_GRACE_PERIOD="6s",
        ) as service,
    ):
        short = await post(
            service, {"image": LARGE, "command": "OUTPUT_BYTES=20000000 /usr/bin/gather"}
        )
        long = await post(
            service,
            {
                "image": NEVER_ENDS,
                "command": "HEARTBEAT_SECONDS=0.2 /usr/bin/gather",
                "timeout": "5m",
            },
        )
        await poll(service, long, says("still gathering"))
        await poll(service, short, says("downloading gather output"), interval=0.01)
        loop = asyncio.get_running_loop()
        started = loop.time()
        # uvicorn re-raises the SIGTERM it handled once its shutdown is complete.
        assert await service.terminate() in (0, -15), service.log()
        assert "Application shutdown complete" in service.log()
        took = loop.time() - started
        assert took < 6 + 20, f"stopping took {took:.1f}s"
        await cluster.no_leftovers()
        await service.start()
        records = await everything_settles(service, [short, long])
        assert records[0]["status"] == "completed", records[0]
        assert records[1]["status"] == "error"
        assert records[1]["error-reason"].startswith("cancelled"), records[1]


async def test_a_restart_with_nothing_to_recover_keeps_every_record(tmp_path: Path) -> None:
    """The cheap case too: finished records and their archives survive SIGKILL unchanged."""
    async with (
        kubesim_process(tmp_path / "kubesim") as cluster,
        service_process(
            tmp_path / "service", **service_environment(cluster, credentials="service")
        ) as service,
    ):
        ids = [await post(service, {"image": ORIGIN, "custom-name": f"n{i}"}) for i in range(2)]
        before = await everything_settles(service, ids)
        await service.kill()
        await service.start()
        after = await everything_settles(service, ids)
        assert [r["archive-sha256"] for r in before] == [r["archive-sha256"] for r in after]
        assert all(r["status"] == "completed" for r in after), after
        await cluster.no_leftovers()


def worker_pids(parent: int) -> list[int]:
    """The children of ``parent`` (granian's workers), read from /proc."""
    found = []
    for task in Path(f"/proc/{parent}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(pid) for pid in text]
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


async def test_sigkill_of_the_production_server_resumes_the_gathering(tmp_path: Path) -> None:
    """granian's main process SIGKILLed alone left its worker running the gathering beside
    the restarted service: both copied the same pod into one file, and one removed it from
    under the other (`FileNotFoundError: ... copy-must-gather-....tar` as the reason)."""
    async with (
        kubesim_process(tmp_path / "kubesim") as cluster,
        service_process(
            tmp_path / "service",
            server="granian",
            **service_environment(cluster, credentials="service"),
        ) as service,
    ):
        gathering = await post(
            service, {"command": '/bin/sh -c "sleep 8; /usr/bin/gather"', "timeout": "5m"}
        )
        await poll(service, gathering, says("created"))
        assert service.process is not None
        workers = worker_pids(service.process.pid)
        assert workers, "granian started no worker"
        await crash_at(service, lambda: asyncio.sleep(0), [gathering])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while any(alive(pid) for pid in workers):
            assert loop.time() < deadline, "granian's worker outlived its main process"
            await asyncio.sleep(0.05)  # another process's end: no event to wait on
        [record] = await everything_settles(service, [gathering])
        assert record["status"] == "completed", record["error-reason"]
        async with client_for(service) as api:
            logs = (await api.get(f"/must-gather/{gathering}/logs")).text
        assert logs.count("resuming after a restart") == 1, logs
        assert "failed unexpectedly" not in logs
        await cluster.no_leftovers()
