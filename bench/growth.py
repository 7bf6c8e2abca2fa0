"""5. Growth: gatherings of 100 MiB, 1 GiB and 4 GiB (4 GiB only without --quick), each in
a fresh service: seconds from gather end to archive ready, per GiB, and peak RSS; the
slopes (seconds per GiB and RSS bytes per GiB, least squares) show time linear and
memory flat. The goal is the issue's: the time per GiB flat from the smallest size to the
largest (within ``FLAT`` of each other, so fixed costs count), peak RSS under 200 MB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from bench import gathering, serving
from bench.reporting import GIB, MIB

FLAT = 1.25  # the largest time per GiB over the smallest
RSS_CEILING = 200 * 1000 * 1000


def slope(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    spread = sum((x - mean_x) ** 2 for x in xs)
    if not spread:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


async def run(work: Path, *, quick: bool) -> dict[str, Any]:
    sizes = [100 * MIB, GIB] if quick else [100 * MIB, GIB, 4 * GIB]
    points: list[dict[str, Any]] = []
    async with gathering.simulated(work) as (cluster, kubeconfig):
        settings = gathering.service_settings(kubeconfig)
        for size in sizes:
            async with (
                serving.running(work / f"growth-{size // MIB}", **settings) as service,
                gathering.watching(cluster) as ends,
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session,
            ):
                measured = await gathering.one_gathering(session, service, ends, size, within=3600)
            points.append(
                {
                    "payload_bytes": size,
                    "seconds": measured["seconds"],
                    "seconds_per_gib": round(measured["seconds"] / (size / GIB), 3),
                    "peak_rss_bytes": measured["peak_rss_bytes"],
                    "phases": measured["phases"],
                    "archive_bytes": measured["archive_bytes"],
                }
            )
    gib = [p["payload_bytes"] / GIB for p in points]
    time_slope = slope(gib, [p["seconds"] for p in points])
    rss_slope = slope(gib, [p["peak_rss_bytes"] for p in points])
    per_gib = [p["seconds_per_gib"] for p in points]
    spread = max(per_gib) / min(per_gib)
    return {
        "sizes": {"payload_bytes": sizes},
        "runs": 1,
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
