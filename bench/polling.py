"""3. Polling: ``GET /must-gather/{id}`` and ``GET /must-gather`` over 10,000 records, each
with 256 KiB of output, under concurrent load (wrk), authenticated (TokenReview and
SubjectAccessReview against kubesim, decision cache on) against the same service with
AUTH=none, alternating runs; and the list with 256 KiB outputs against the same list with
empty ones (the tails it reads are the difference).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from bench import gathering, loads, records, serving
from bench.reporting import ratio, summary
from kubesim.auth import ADMIN_TOKEN

RECORDS = 10_000
LARGE_OUTPUT = 256 * 1024
SMALL_OUTPUT = 0
# A full list takes seconds: in a run of the usual length wrk completes four or five, and
# counts none of those still in flight at its end, so one list more or less moved the rate
# by a fifth (22 against 23 lists read 0.5 against 0.6 rps). Its runs are longer, and every
# rate ratio is the total of requests over the total of seconds, unrounded.
LONG_RUN_FACTOR = 3
# name, path, connections, which two services, long runs
PAIRS = [
    ("get_one", "/must-gather/5000", 16, ("auth", "none"), False),
    ("list_limit_100", "/must-gather?limit=100", 16, ("auth", "none"), False),
    # A full list is ~16 MB of JSON: two at a time, or wrk's run ends before any answer.
    ("list_all", "/must-gather", 2, ("auth", "none"), True),
    # its goal compares p50s: over four or five lists a run, one slow list moved a run's
    # p50 by half (2.08 to 4.47 s in one run of five)
    ("list_all_output_256KiB_vs_empty", "/must-gather", 2, ("none", "none_empty"), True),
    (
        "list_limit_100_output_256KiB_vs_empty",
        "/must-gather?limit=100",
        16,
        ("none", "none_empty"),
        False,
    ),
]


def _pick(runs: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    requests = sum(r["requests"] for r in runs)
    return {
        "rps": summary([r["rps"] for r in runs], digits=1),
        "rps_total": round(requests / (seconds * len(runs)), 3),
        "p50_ms": summary([r.get("p50_ms", 0.0) for r in runs], digits=2),
        "p99_ms": summary([r.get("p99_ms", 0.0) for r in runs], digits=2),
        "requests": requests,
        "errors": sum(r["errors"] for r in runs),
    }


async def run(work: Path, *, quick: bool) -> dict[str, Any]:
    why_not = await loads.ensure_wrk()
    if why_not is not None:
        return {"skipped": why_not, "met": False}
    runs, seconds = (1, 6.0) if quick else (5, 8.0)
    large, small = work / "polling-256KiB", work / "polling-empty"
    await records.many(large, RECORDS, output_bytes=LARGE_OUTPUT)
    await records.many(small, RECORDS, output_bytes=SMALL_OUTPUT)
    # The authenticated service gets its own copy of the database, so the two never share
    # SQLite's write lock; the data directory is the same.
    authed = work / "polling-auth"
    authed.mkdir()
    shutil.copy(large / "gatherings.db", authed / "gatherings.db")
    (authed / "data").symlink_to(large / "data")
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    result: dict[str, Any] = {
        "sizes": {"records": RECORDS, "output_bytes": [LARGE_OUTPUT, SMALL_OUTPUT]},
        "runs": runs,
        "seconds_per_run": seconds,
        "pairs": {},
    }
    async with gathering.simulated(work) as (_, kubeconfig):
        cluster_settings = {"USE_KUBECONFIG": "true", "KUBECONFIG": str(kubeconfig)}
        async with (
            serving.running(authed, AUTH="kubernetes", **cluster_settings) as auth,
            serving.running(large) as none,
            serving.running(small) as none_small,
        ):
            services = {"auth": auth, "none": none, "none_empty": none_small}
            for name, path, connections, (first, second), long_runs in PAIRS:
                length = seconds * LONG_RUN_FACTOR if long_runs else seconds
                measured: dict[str, list[dict[str, Any]]] = {first: [], second: []}
                for _ in range(runs):
                    for which in (first, second):
                        measured[which].append(
                            await loads.wrk(
                                services[which].url + path,
                                connections=connections,
                                seconds=length,
                                headers=headers,
                            )
                        )
                a, b = _pick(measured[first], length), _pick(measured[second], length)
                result["pairs"][name] = {
                    "path": path,
                    "connections": connections,
                    "seconds_per_run": length,
                    first: a,
                    second: b,
                    # totals, not medians of rounded rates: see LONG_RUN_FACTOR
                    "rps_ratio": ratio(a["rps_total"], b["rps_total"]),
                    "p50_ratio": ratio(a["p50_ms"]["median"], b["p50_ms"]["median"]),
                }
            result["peak_rss_bytes"] = {k: s.peak_rss_bytes() for k, s in services.items()}
    pairs = result["pairs"]
    auth_ok = all(
        (pairs[n]["rps_ratio"] or 0) >= 0.9 for n in ("get_one", "list_limit_100", "list_all")
    )
    flat = (pairs["list_all_output_256KiB_vs_empty"]["p50_ratio"] or 99) <= 1.2
    errors = sum(p[k]["errors"] for p in pairs.values() for k in p if isinstance(p[k], dict))
    result["goal"] = (
        "authenticated rps >= 0.9 of AUTH=none; list p50 256 KiB vs empty outputs <= 1.2"
    )
    # Each goal on its own, so the table says which one a "no" is about.
    result["goals_met"] = {"auth": bool(auth_ok), "list_flat": bool(flat), "no_errors": not errors}
    result["met"] = bool(auth_ok and flat and errors == 0)
    return result


def row(result: dict[str, Any]) -> list[str]:
    if "skipped" in result:
        return ["polling", "skipped", result["skipped"], "", "", "no"]
    pairs = result["pairs"]
    one, listed = pairs["get_one"], pairs["list_all"]
    flat = pairs["list_all_output_256KiB_vs_empty"]
    return [
        "polling (auth vs none)",
        f"get {one['auth']['rps']['median']} rps, list {listed['auth']['rps_total']} rps",
        f"get {one['none']['rps']['median']} rps, list {listed['none']['rps_total']} rps",
        f"{one['rps_ratio']} / {listed['rps_ratio']}",
        f"list p50 256K/empty x{flat['p50_ratio']}",
        ", ".join(
            f"{name} {'yes' if met else 'no'}"
            for name, met in result.get("goals_met", {"all": result["met"]}).items()
        ),
    ]
