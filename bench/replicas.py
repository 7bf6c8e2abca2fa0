"""Several replicas (issue 21): granian ``serve`` processes on one PostgreSQL database and
one data directory, behind nginx balancing round robin, against one kubesim process.

1. Polling throughput and p99 (wrk) through the balancer over 1 and over 3 replicas, on a
   store seeded with completed gatherings; runs alternate between the two balancers, which
   front the same running replicas.
2. Gatherings per minute: the same batch of short gatherings (text output, copied and
   packed) POSTed through the balancer to 1 replica, then to 3; one limit
   (MAX_CONCURRENT_GATHERINGS) holds across the replicas either way.
3. Failover: from the SIGKILL of the replica running a gathering to another replica holding
   its lease (the store's claim) and to the gathering's log saying it resumed.

The machine's cores are shared by every replica, nginx, wrk and kubesim's pods, so the
ratios say what this machine allows, not what separate pods would.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from bench import balanced, cpu, download, gathering, loads, records
from bench.reporting import MIB, ratio, summary
from must_gather_api.gatherings.layout import Layout
from must_gather_api.gatherings.records import Gathering, Status
from must_gather_api.gatherings.store import GatheringStore

LEASE_SECONDS = 6
OUTPUT_BYTES = 64 * 1024  # of each seeded record's output log
MAX_CONCURRENT = 6
CONNECTIONS = 32
PATHS = {"get_one": "/must-gather/{middle}", "list_limit_100": "/must-gather?limit=100"}
BUSY = [
    "machine_busy_cores",
    "replicas_busy_cores",
    "nginx_busy_cores",
    "wrk_busy_cores",
    "postgres_busy_cores",
]
ENDED = (Status.COMPLETED, Status.ERROR)
RESUMED = "resuming ("
# kubesim's pods write to this machine's disk, which other work shares: its fullness must
# not end the gatherings measured (the gather container stops at 70% by default).
DISK = {"volume-percentage": 100}
NEVER_ENDS = {
    "image": "kubesim.local/must-gather-never-ends:latest",
    "command": "HEARTBEAT_SECONDS=0.2 /usr/bin/gather",
    "timeout": "1h",
    **DISK,
}


def _load() -> dict[str, Any]:
    one, five, fifteen = os.getloadavg()
    return {"load_average": [round(one, 2), round(five, 2), round(fifteen, 2)]}


async def _post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> int:
    async with session.post(f"{url}/must-gather", json=body) as response:
        response.raise_for_status()
        return int((await response.json())["id"])


async def _until(
    store: GatheringStore, gathering_id: int, check: Callable[[Gathering], bool], *, within: float
) -> Gathering:
    """The record once ``check(record)`` holds, read from the store every 20 ms."""
    async with asyncio.timeout(within):
        while True:
            record = await store.get(gathering_id)
            if check(record):
                return record
            await asyncio.sleep(0.02)  # another process writes it: nothing to await


def _held_by_another_than(holder: str) -> Callable[[Gathering], bool]:
    return lambda record: record.claimed_by not in ("", holder)


async def polling(
    one: balanced.Balancer,
    three: balanced.Balancer,
    replicas: list[int],
    postgres: list[int],
    *,
    runs: int,
    seconds: float,
    middle: int,
) -> dict[str, Any]:
    """wrk through each balancer in turn; ``replicas``: the pids whose CPU is the
    replicas' (all three run throughout, the balancer over one sends the others nothing)."""
    measured: dict[str, dict[str, list[dict[str, Any]]]] = {
        name: {"1": [], "3": []} for name in PATHS
    }
    for _ in range(runs):
        for name, path in PATHS.items():
            for count, nginx in (("1", one), ("3", three)):
                watched = {"replicas": replicas, "nginx": [nginx.pid], "postgres": postgres}
                with cpu.usage(watched) as used:
                    answered = await loads.wrk(
                        nginx.url + path.format(middle=middle),
                        connections=CONNECTIONS,
                        seconds=seconds,
                    )
                measured[name][count].append(answered | used.as_dict(children="wrk"))
    result: dict[str, Any] = {}
    for name, by_count in measured.items():
        picked = {
            f"replicas_{count}": {
                "rps": summary([r["rps"] for r in done], digits=1),
                "p99_ms": summary([r.get("p99_ms", 0.0) for r in done], digits=2),
                **{key: summary([r[key] for r in done], digits=2) for key in BUSY},
                "requests": sum(r["requests"] for r in done),
                "errors": sum(r["errors"] for r in done),
            }
            for count, done in by_count.items()
        }
        result[name] = {
            "path": PATHS[name].format(middle=middle),
            **picked,
            "rps_ratio": ratio(
                picked["replicas_3"]["rps"]["median"], picked["replicas_1"]["rps"]["median"]
            ),
        }
    return result


async def batch(
    session: aiohttp.ClientSession, store: GatheringStore, url: str, *, count: int, size: int
) -> dict[str, Any]:
    """``count`` gatherings POSTed at once; gatherings per minute from the first one's
    creation to the last one's end, as the store recorded them."""
    body = {
        "image": gathering.IMAGE,
        "command": gathering.generator_command(size),
        "timeout": "1h",
        **DISK,
    }
    ids = [await _post(session, url, body) for _ in range(count)]
    ended = [await _until(store, i, lambda r: r.status in ENDED, within=900) for i in ids]
    failed = {r.id: (r.claimed_by, r.error_reason) for r in ended if r.status != Status.COMPLETED}
    if failed:
        raise RuntimeError(f"gatherings did not complete (replica, reason): {failed}")
    first = min(r.created_at for r in ended)
    last = max(r.finished_at or r.created_at for r in ended)
    seconds = (last - first).total_seconds()
    run_by: dict[str, int] = {}
    for r in ended:
        run_by[r.claimed_by] = run_by.get(r.claimed_by, 0) + 1
    return {
        "gatherings": count,
        "output_bytes_each": size,
        "seconds": round(seconds, 2),
        "per_minute": round(count / seconds * 60, 2),
        "run_by": run_by,
    }


async def failover(
    session: aiohttp.ClientSession,
    store: GatheringStore,
    group: balanced.Replicas,
    layout: Layout,
    *,
    runs: int,
) -> list[dict[str, Any]]:
    measured = []
    for run in range(runs):
        live = next(iter(group.running.values()))
        gathering_id = await _post(session, live.url, NEVER_ENDS)
        running = await _until(
            store,
            gathering_id,
            lambda r: r.status == Status.INPROGRESS and r.claimed_by in group.running,
            within=120,
        )
        log = layout.output_log(gathering_id)
        await balanced.wait_for_text(log, "[never-ends] gathering started", within=120)
        holder = running.claimed_by
        killed = time.monotonic()
        await group.kill(holder)
        taken = await _until(store, gathering_id, _held_by_another_than(holder), within=120)
        taken_over = time.monotonic() - killed
        await balanced.wait_for_text(log, RESUMED, within=120)
        resumed = time.monotonic() - killed
        await group.start(f"{holder}-after-{run + 1}")
        await balanced.delete(session, group.running[taken.claimed_by].url, gathering_id)
        await _until(store, gathering_id, lambda r: r.status in ENDED, within=120)
        measured.append(
            {
                "killed": holder,
                "taken_over_by": taken.claimed_by,
                "taken_over_s": round(taken_over, 2),
                "resumed_s": round(resumed, 2),
            }
        )
    return measured


async def run(work: Path, *, quick: bool) -> dict[str, Any]:
    count, output = (2_000 if quick else 10_000), OUTPUT_BYTES
    runs, seconds = (1, 5.0) if quick else (3, 8.0)
    batch_size, gathering_bytes = (8, 4 * MIB) if quick else (20, 16 * MIB)
    failovers = 1 if quick else 3
    state = work / "replicas"
    result: dict[str, Any] = {
        "sizes": {"records": count, "output_bytes": output},
        "lease_duration_s": LEASE_SECONDS,
        "max_concurrent_gatherings": MAX_CONCURRENT,
        "wrk": {"connections": CONNECTIONS, "runs": runs, "seconds_per_run": seconds},
        "before": _load(),
    }
    why_not = await loads.ensure_wrk() or await download.ensure_nginx()
    if why_not is not None:
        return {"skipped": why_not, "met": False}
    try:
        async with balanced.database() as url:
            await records.many(state, count, output_bytes=output, database=url)
            result |= await _measure(
                work,
                state,
                url,
                runs=runs,
                seconds=seconds,
                middle=count // 2,
                batch_size=batch_size,
                gathering_bytes=gathering_bytes,
                failovers=failovers,
            )
    except balanced.Unavailable as e:
        return {"skipped": str(e), "met": False}
    result["after"] = _load()
    polled = result["polling"]["get_one"]
    times = [f["resumed_s"] for f in result["failover"]]
    result["failover_resumed_s"] = summary(times, digits=2)
    checks = {
        "polling_rps_ratio >= 2.5": (polled["rps_ratio"] or 0) >= 2.5,
        f"failover <= {2 * LEASE_SECONDS} s": max(times) <= 2 * LEASE_SECONDS,
    }
    result["goal"] = "polling rps with 3 replicas >= 2.5 x with 1; failover <= 2 x LEASE_DURATION"
    result["goals"] = checks
    result["met"] = all(checks.values())
    result["notes"] = _notes(result)
    return result


def _notes(result: dict[str, Any]) -> str:
    def polled(count: int) -> str:
        busy = {
            k: v["median"]
            for k, v in result["polling"]["get_one"][f"replicas_{count}"].items()
            if k in BUSY
        }
        rest = busy["machine_busy_cores"] - sum(
            v for k, v in busy.items() if k != "machine_busy_cores"
        )
        return (
            f"{busy['machine_busy_cores']} cores busy: replicas {busy['replicas_busy_cores']}, "
            f"nginx {busy['nginx_busy_cores']}, wrk {busy['wrk_busy_cores']}, "
            f"PostgreSQL {busy['postgres_busy_cores']}, other processes {rest:.2f}"
        )

    def gathered(count: int) -> str:
        measured = result["gatherings"][f"replicas_{count}"]
        return (
            f"{measured['machine_busy_cores']} cores busy: replicas "
            f"{measured['replicas_busy_cores']}, "
            f"kubesim and its pods {measured['kubesim_busy_cores']}, "
            f"PostgreSQL {measured['postgres_busy_cores']}"
        )

    before, after = result["before"]["load_average"][0], result["after"]["load_average"][0]
    return (
        f"{os.cpu_count()} cores shared by the replicas, nginx, wrk, PostgreSQL, kubesim and "
        f"its pods, and by whatever else ran on the machine (1-minute load average {before} "
        f"at the start, {after} at the end). "
        f"Polling GET one record through one replica: {polled(1)}; through three: "
        f"{polled(3)}. Gatherings with one replica: {gathered(1)}; with three: "
        f"{gathered(3)}. Three replicas cannot use more cores than the machine has, so the "
        "ratios measure this machine's contention, not what three pods on three nodes "
        "would serve."
    )


async def _measure(
    work: Path,
    state: Path,
    url: str,
    *,
    runs: int,
    seconds: float,
    middle: int,
    batch_size: int,
    gathering_bytes: int,
    failovers: int,
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    timeout = aiohttp.ClientTimeout(total=60)
    async with (
        balanced.kubesim_process(work / "kubesim") as cluster,
        balanced.replicas(
            state,
            DATABASE_URL=url,
            USE_KUBECONFIG="true",
            KUBECONFIG=cluster.info["service_kubeconfig"],
            GATHER_CREDENTIALS="service",
            LEASE_DURATION=f"{LEASE_SECONDS}s",
            MAX_CONCURRENT_GATHERINGS=str(MAX_CONCURRENT),
            OUTPUT_FLUSH_INTERVAL="0.1s",
        ) as group,
        aiohttp.ClientSession(timeout=timeout) as session,
    ):
        assert cluster.process is not None
        simulator = cluster.process.pid
        server = await balanced.server_pid(url)
        postgres = [] if server is None else [server]
        store = await GatheringStore.open(url)
        try:
            first = await group.start("replica-1")
            async with balanced.balancer(work / "nginx-1", [first]) as one:
                with cpu.usage(
                    {"replicas": [first.process.pid], "kubesim": [simulator], "postgres": postgres}
                ) as used:
                    per_minute_1 = await batch(
                        session, store, one.url, count=batch_size, size=gathering_bytes
                    )
                per_minute_1 |= used.as_dict()
                others = [await group.start(f"replica-{n}") for n in (2, 3)]
                async with balanced.balancer(work / "nginx-3", [first, *others]) as three:
                    pids = [s.process.pid for s in (first, *others)]
                    with cpu.usage(
                        {"replicas": pids, "kubesim": [simulator], "postgres": postgres}
                    ) as used:
                        per_minute_3 = await batch(
                            session, store, three.url, count=batch_size, size=gathering_bytes
                        )
                    per_minute_3 |= used.as_dict()
                    result["polling"] = await polling(
                        one,
                        three,
                        pids,
                        postgres,
                        runs=runs,
                        seconds=seconds,
                        middle=middle,
                    )
            result["gatherings"] = {
                "replicas_1": per_minute_1,
                "replicas_3": per_minute_3,
                "ratio": ratio(per_minute_3["per_minute"], per_minute_1["per_minute"]),
            }
            result["failover"] = await failover(
                session, store, group, Layout(state / "data"), runs=failovers
            )
            result["peak_rss_bytes"] = {
                name: s.peak_rss_bytes() for name, s in group.running.items()
            }
        finally:
            await store.close()
    return result


def row(result: dict[str, Any]) -> list[str]:
    if "skipped" in result:
        return ["replicas", "skipped", result["skipped"], "", "", "no"]
    polled = result["polling"]["get_one"]
    per_minute = result["gatherings"]
    return [
        "replicas (3 vs 1)",
        f"get {polled['replicas_3']['rps']['median']} rps, "
        f"{per_minute['replicas_3']['per_minute']} gatherings/min",
        f"get {polled['replicas_1']['rps']['median']} rps, "
        f"{per_minute['replicas_1']['per_minute']} gatherings/min",
        f"{polled['rps_ratio']} / {per_minute['ratio']}",
        f"failover {result['failover_resumed_s']['median']} s "
        f"(lease {result['lease_duration_s']} s)",
        "yes" if result["met"] else "no",
    ]
