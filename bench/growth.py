"""5. Growth: gatherings of 100 MiB, 1 GiB and 4 GiB (4 GiB only without --quick), each in
a fresh service, the sizes alternated over ``RUNS`` rounds: the median seconds from gather
end to archive ready, per GiB, and the peak RSS; the slopes (seconds per GiB and RSS bytes
per GiB, least squares) show time linear and memory flat. The goal is the issue's: the
time per GiB flat from the smallest size to the largest (within ``FLAT`` of each other, so
fixed costs count), peak RSS under 200 MB."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import aiohttp

from bench import gathering, serving
from bench.reporting import GIB, MIB

FLAT = 1.25  # the largest time per GiB over the smallest
RSS_CEILING = 200 * 1000 * 1000
RUNS = 5  # one run varies by a fifth from the next on this machine (disk writeback, noise)


def slope(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    spread = sum((x - mean_x) ** 2 for x in xs)
    if not spread:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


async def run(work: Path, *, quick: bool) -> dict[str, Any]:
    sizes = [100 * MIB, GIB] if quick else [100 * MIB, GIB, 4 * GIB]
    runs = 1 if quick else RUNS
    measured: dict[int, list[dict[str, Any]]] = {size: [] for size in sizes}
    async with gathering.simulated(work) as (cluster, kubeconfig):
        settings = gathering.service_settings(kubeconfig)
        for round_number in range(runs):
            for size in sizes:
                async with (
                    serving.running(
                        work / f"growth-{size // MIB}-{round_number}", **settings
                    ) as service,
                    gathering.watching(cluster) as ends,
                    aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session,
                ):
                    measured[size].append(
                        await gathering.one_gathering(session, service, ends, size, within=3600)
                    )
    points = [point(size, measured[size]) for size in sizes]
    gib = [p["payload_bytes"] / GIB for p in points]
    time_slope = slope(gib, [p["seconds"] for p in points])
    rss_slope = slope(gib, [p["peak_rss_bytes"] for p in points])
    per_gib = [p["seconds_per_gib"] for p in points]
    spread = max(per_gib) / min(per_gib)
    return {
        "sizes": {"payload_bytes": sizes},
        "runs": runs,
        "points": points,
        "seconds_per_gib_slope": round(time_slope, 3),
        "seconds_per_gib_spread": round(spread, 3),
        "rss_bytes_per_gib_slope": round(rss_slope),
        "goal": (
            f"time per GiB flat (largest <= {FLAT} x smallest); peak RSS <= 200 MB and flat "
            "(slope under 16 MiB per GiB)"
        ),
        "met": spread <= FLAT
        and abs(rss_slope) < 16 * MIB
        and max(p["peak_rss_bytes"] for p in points) <= RSS_CEILING,
    }


def point(size: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median run of ``size`` (its phases with it), and the largest peak RSS of all."""
    seconds = statistics.median(run["seconds"] for run in runs)
    middle = min(runs, key=lambda run: abs(run["seconds"] - seconds))
    return {
        "payload_bytes": size,
        "seconds": round(seconds, 3),
        "seconds_per_gib": round(seconds / (size / GIB), 3),
        "seconds_each": [run["seconds"] for run in runs],
        "peak_rss_bytes": max(run["peak_rss_bytes"] for run in runs),
        "phases": middle["phases"],
        "archive_bytes": middle["archive_bytes"],
    }


def row(result: dict[str, Any]) -> list[str]:
    points = result["points"]
    return [
        "growth",
        " / ".join(f"{p['seconds_per_gib']} s/GiB" for p in points),
        "sizes " + " / ".join(f"{p['payload_bytes'] // MIB} MiB" for p in points),
        f"slope {result['seconds_per_gib_slope']} s/GiB, spread "
        f"{result.get('seconds_per_gib_spread')}",
        "RSS " + " / ".join(f"{p['peak_rss_bytes'] // MIB}" for p in points) + " MiB",
        "yes" if result["met"] else "no",
    ]
