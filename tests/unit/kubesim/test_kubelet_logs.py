"""CRI log files: records with timestamps, partial lines, and reading them back filtered."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from kubesim import kinds
from kubesim.auth import ADMIN_TOKEN
from kubesim.cluster import Cluster
from kubesim.kubelet.logs import (
    MAX_RECORD,
    LogOptions,
    LogWriter,
    parse_rfc3339,
    read_log,
    render_text,
    rfc3339nano,
)

RECORD = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z (stdout|stderr) [FP] ")


async def collect(path: Path, options: LogOptions, live: LogWriter | None = None) -> bytes:
    return b"".join([chunk async for chunk in read_log(path, options, live=live)])


def test_timestamps_round_trip() -> None:
    assert rfc3339nano(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"
    assert rfc3339nano(1_700_000_000_120_000_000) == "2023-11-14T22:13:20.12Z"
    assert parse_rfc3339("2023-11-14T22:13:20.12Z") == 1_700_000_000_120_000_000
    assert parse_rfc3339("2023-11-14T23:13:20+01:00") == 1_700_000_000_000_000_000


@pytest.mark.asyncio
async def test_records_and_partial_lines(tmp_path: Path) -> None:
    writer = LogWriter(tmp_path / "0.log")
    writer.write("stdout", b"one\ntw")
    writer.write("stderr", b"oops\n")
    writer.write("stdout", b"o\n" + b"x" * (MAX_RECORD + 10) + b"\nno newline")
    writer.close()
    lines = (tmp_path / "0.log").read_bytes().splitlines()
    assert all(RECORD.match(line) for line in lines)
    assert [line.split(b" ", 3)[1:3] for line in lines] == [
        [b"stdout", b"F"],
        [b"stderr", b"F"],
        [b"stdout", b"F"],
        [b"stdout", b"P"],
        [b"stdout", b"F"],
        [b"stdout", b"P"],
    ]
    served = await collect(tmp_path / "0.log", LogOptions())
    assert served == b"one\noops\ntwo\n" + b"x" * (MAX_RECORD + 10) + b"\nno newline"


@pytest.mark.asyncio
async def test_tail_limit_since_and_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_bytes(
        b"2024-01-01T00:00:00Z stdout F old\n"
        b"2024-01-01T00:00:01.5Z stdout F middle\n"
        b"2024-01-01T00:00:03Z stderr F new\n"
    )
    assert await collect(path, LogOptions(tail_lines=2)) == b"middle\nnew\n"
    assert await collect(path, LogOptions(tail_lines=0)) == b""
    assert await collect(path, LogOptions(limit_bytes=6)) == b"old\nmi"
    since = parse_rfc3339("2024-01-01T00:00:01Z")
    assert await collect(path, LogOptions(since_ns=since)) == b"middle\nnew\n"
    assert await collect(path, LogOptions(timestamps=True, tail_lines=1)) == (
        b"2024-01-01T00:00:03Z new\n"
    )


@pytest.mark.asyncio
async def test_follow_waits_for_more_and_ends_with_the_run(tmp_path: Path) -> None:
    writer = LogWriter(tmp_path / "0.log")
    writer.write("stdout", b"first\n")
    received: list[bytes] = []
    got_first = asyncio.Event()

    async def follow() -> None:
        async for chunk in read_log(writer.path, LogOptions(follow=True), live=writer):
            received.append(chunk)
            got_first.set()

    task = asyncio.create_task(follow())
    async with asyncio.timeout(5):
        await got_first.wait()
    assert not task.done()
    writer.write("stdout", b"second\n")
    writer.close()
    async with asyncio.timeout(5):
        await task
    assert b"".join(received) == b"first\nsecond\n"


@asynccontextmanager
async def _followed(kubesim: Cluster, pod: str) -> AsyncIterator[aiohttp.ClientResponse]:
    """A ``follow=true`` log stream of a pod in namespace default, as the admin."""
    context = ssl.create_default_context(cafile=str(kubesim.ca_file))
    async with (
        aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            connector=aiohttp.TCPConnector(ssl=context),
        ) as session,
        session.get(
            f"{kubesim.url}/api/v1/namespaces/default/pods/{pod}/log", params={"follow": "true"}
        ) as response,
    ):
        yield response


@pytest.mark.asyncio
@pytest.mark.timeout(30)
async def test_follow_is_cut_or_broken_by_the_log_faults(kubesim: Cluster) -> None:
    kubesim.store.create(
        kinds.PODS,
        {
            "metadata": {"name": "chatty", "namespace": "default"},
            "spec": {
                "containers": [
                    {
                        "name": "main",
                        "image": "busybox",
                        "command": ["sh", "-c", "while :; do echo chatter; sleep 0.01; done"],
                    }
                ]
            },
        },
    )
    async with asyncio.timeout(15), kubesim.store.watch(kinds.PODS) as watch:
        async for _, pod in watch:
            statuses = pod.get("status", {}).get("containerStatuses") or [{}]
            if pod["metadata"]["name"] == "chatty" and "running" in statuses[0].get("state", {}):
                break
    kubesim.faults.log_disconnect_after_bytes = 100
    async with _followed(kubesim, "chatty") as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        body = await response.read()
    assert len(body) == 100
    assert body.startswith(b"chatter\nchatter\n")

    # a break is a connection dropped mid-body: the client's read fails, after what came
    kubesim.faults.log_disconnect_after_bytes = None
    kubesim.faults.log_break_after_bytes = 40
    received = bytearray()
    async with _followed(kubesim, "chatty") as response:
        with pytest.raises(aiohttp.ClientPayloadError):
            async for chunk in response.content.iter_any():
                received += chunk
    assert received.startswith(b"chatter\n") and len(received) <= 40


@pytest.mark.asyncio
async def test_static_pods_serve_their_log_annotation(kubesim: Cluster) -> None:
    static = [
        p
        for p in kubesim.store.list(kinds.PODS)
        if p["metadata"].get("annotations", {}).get("kubesim.io/static") == "true"
    ]
    pod = next(p for p in static if len(p["spec"]["containers"]) > 1)
    container = pod["spec"]["containers"][0]["name"]
    annotation = pod["metadata"]["annotations"][f"kubesim.io/log.{container}"]
    stamp, _, text = annotation.splitlines()[-1].partition(" ")
    meta = pod["metadata"]
    source = kubesim.kubelet.log_source(meta["namespace"], meta["name"], container)
    assert render_text(source.records, LogOptions(tail_lines=1)) == f"{text}\n".encode()
    stamped = render_text(source.records, LogOptions(tail_lines=1, timestamps=True))
    assert stamped == f"{stamp} {text}\n".encode()
    # Nothing of it runs: no worker, and the seeded status is untouched.
    assert (meta["namespace"], meta["name"]) not in kubesim.kubelet.workers
    stored = kubesim.store.get(kinds.PODS, meta["name"], namespace=meta["namespace"])
    assert stored["status"] == pod["status"]
