"""Gatherings against kubesim, timed from the gather container's end to the archive ready.

kubesim runs in this process; the service runs as its own process (granian) with the
admin kubeconfig. The gather container's end is seen on kubesim's store watch; the phases
after it come from the service's own output lines (``downloading gather output``,
``downloaded ...``, ``archive ready``), tailed from its output log every 20 ms, and the
end is the record turning ``completed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.serving import Service
from kubesim import kinds
from kubesim.cluster import Cluster, ClusterOptions

GENERATOR = Path(__file__).resolve().with_name("textlog.py")
IMAGE = "docker.io/library/busybox:latest"
LABEL = "must-gather-api.io/gathering"
MARKERS = {
    "copy_started": "downloading gather output",
    "extracted": " downloaded ",
    "archive_ready": "[must-gather-api] archive ready",
}
_POLL = 0.02


def generator_command(size: int) -> str:
    return f"python3 {GENERATOR} /must-gather {size}"


@asynccontextmanager
async def simulated(work: Path) -> AsyncIterator[tuple[Cluster, Path]]:
    """kubesim, and a kubeconfig (cluster-admin) for the service."""
    async with Cluster(ClusterOptions(state_dir=work / "kubesim")) as cluster:
        yield cluster, cluster.write_kubeconfig(work / "service.kubeconfig")


def service_settings(kubeconfig: Path) -> dict[str, str]:
    return {
        "USE_KUBECONFIG": "true",
        "KUBECONFIG": str(kubeconfig),
        "GATHER_CREDENTIALS": "service",
        "OUTPUT_FLUSH_INTERVAL": "0.02s",
        "MAX_CONCURRENT_GATHERINGS": "8",
    }


@dataclass
class GatherEnds:
    """When each gathering's gather container ended (monotonic), from kubesim's watch."""

    ended: dict[int, float] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def watch(self, cluster: Cluster) -> None:
        async with cluster.store.watch(kinds.PODS) as events:
            async for _, pod in events:
                self.seen(pod)

    def seen(self, pod: dict[str, Any]) -> None:
        label = (pod["metadata"].get("labels") or {}).get(LABEL)
        if label is None or int(label) in self.ended:
            return
        for status in pod.get("status", {}).get("containerStatuses", []):
            if status["name"] == "gather" and "terminated" in status.get("state", {}):
                self.ended[int(label)] = time.monotonic()
                self.changed.set()

    async def watch_over_http(self, url: str, ca: str, token: str) -> None:
        """The same, from a cluster in another process: a watch on the API."""
        params = {"watch": "true", "labelSelector": LABEL, "timeoutSeconds": "3600"}
        ssl_context = ssl.create_default_context(cafile=ca)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(
                f"{url}/api/v1/pods",
                params=params,
                ssl=ssl_context,
                headers={"Authorization": f"Bearer {token}"},
            ) as response,
        ):
            response.raise_for_status()
            async for line in response.content:
                if line.strip():
                    self.seen(json.loads(line)["object"])


@asynccontextmanager
async def watching(
    cluster: Cluster | None = None, *, over_http: tuple[str, str, str] | None = None
) -> AsyncIterator[GatherEnds]:
    """Gather ends in ``cluster``, or in the one at ``over_http`` (url, CA file, token)."""
    ends = GatherEnds()
    if cluster is not None:
        watched = ends.watch(cluster)
    else:
        assert over_http is not None
        watched = ends.watch_over_http(*over_http)
    task = asyncio.create_task(watched, name="bench-gather-ends")
    try:
        yield ends
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def submit(session: aiohttp.ClientSession, service: Service, size: int) -> int:
    body = {"image": IMAGE, "command": generator_command(size), "timeout": "1h"}
    async with session.post(f"{service.url}/must-gather", json=body) as response:
        response.raise_for_status()
        return int((await response.json())["id"])


async def follow(
    session: aiohttp.ClientSession,
    service: Service,
    gathering_id: int,
    *,
    within: float,
    poll: float = _POLL,
) -> dict[str, Any]:
    """Monotonic times of each marker line and of completion; the final record. The
    record is polled every ``poll`` seconds (the markers are read from the output file)."""
    log = service.state / "data" / "gatherings" / str(gathering_id) / "output.log"
    seen: dict[str, float] = {}
    offset, text = 0, ""
    async with asyncio.timeout(within):
        while True:
            with contextlib.suppress(OSError):
                with log.open("rb") as file:
                    file.seek(offset)
                    new = file.read()
                offset += len(new)
                text += new.decode("utf-8", "replace")
            for name, marker in MARKERS.items():
                if name not in seen and marker in text:
                    seen[name] = time.monotonic()
            async with session.get(f"{service.url}/must-gather/{gathering_id}") as response:
                record = await response.json()
            if record["status"] in ("completed", "error"):
                seen["record_finished"] = time.monotonic()
                return {"times": seen, "record": record, "output": text}
            await asyncio.sleep(poll)


def phases(ended: float, times: dict[str, float]) -> dict[str, float]:
    """Seconds of each step after the gather container ended."""
    steps = ["copy_started", "extracted", "archive_ready", "record_finished"]
    result, last = {}, ended
    for step in steps:
        if step in times:
            result[step] = round(times[step] - last, 3)
            last = times[step]
    result["total"] = round(times["record_finished"] - ended, 3)
    return result


async def one_gathering(
    session: aiohttp.ClientSession,
    service: Service,
    ends: GatherEnds,
    size: int,
    *,
    within: float,
) -> dict[str, Any]:
    service.reset_peak()
    gathering_id = await submit(session, service, size)
    followed = await follow(session, service, gathering_id, within=within)
    record = followed["record"]
    if record["status"] != "completed":
        raise RuntimeError(f"gathering {gathering_id} failed: {record['error-reason']}")
    steps = phases(ends.ended[gathering_id], followed["times"])
    return {
        "id": gathering_id,
        "seconds": steps["total"],
        "phases": steps,
        "archive_bytes": record["archive-size"],
        "peak_rss_bytes": service.peak_rss_bytes(),
        "timing_lines": [
            line
            for line in followed["output"].splitlines()
            if "downloaded" in line or "archive ready" in line
        ],
    }
