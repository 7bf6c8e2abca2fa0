"""6. Start: seconds from ``must-gather-api serve`` (granian) starting to ``/readyz`` 200,
median of 5 fresh starts on an empty state directory, against uvicorn as the peer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench import serving
from bench.reporting import ratio, summary

RUNS = 5


async def once(state: Path, server: str) -> float:
    started = time.perf_counter()
    service = await serving.spawn(state, server=server)
    try:
        await serving.wait_ready(service.url, service.process, within=serving.READY_TIMEOUT)
        return time.perf_counter() - started
    finally:
        await serving.stop(service)


async def run(work: Path, *, quick: bool) -> dict[str, Any]:
    runs = 3 if quick else RUNS
    granian: list[float] = []
    uvicorn: list[float] = []
    for n in range(runs):
        granian.append(await once(work / f"start-granian-{n}", "granian"))
        uvicorn.append(await once(work / f"start-uvicorn-{n}", "uvicorn"))
    ours, peer = summary(granian, digits=3), summary(uvicorn, digits=3)
    return {
        "runs": runs,
        "granian_seconds": ours,
        "uvicorn_seconds": peer,
        "ratio": ratio(ours["median"], peer["median"]),
        "goal": "reported (no target); uvicorn for comparison",
        "met": True,
    }


def row(result: dict[str, Any]) -> list[str]:
    return [
        "start to /readyz",
        f"{result['granian_seconds']['median']} s (granian)",
        f"{result['uvicorn_seconds']['median']} s (uvicorn)",
        str(result["ratio"]),
        f"median of {result['runs']}",
        "-",
    ]
