"""7. First byte of one file of a 1 GiB archive: `GET /files/{path}` (read from its offset)
against `tar xzf --occurrence` of the same member (what one does without an index), and
whether every file read so comes back byte-equal, Range included.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench import records, serving, textlog
from bench.reporting import GIB, MIB, percentile, ratio, summary
from must_gather_api.archive import index, packing
from must_gather_api.gatherings.layout import Layout
from must_gather_api.gatherings.records import Status
from must_gather_api.gatherings.store import GatheringStore, now
from must_gather_api.parameters import GatheringOptions

SAMPLES = 20


def _pack(tree: Path, layout: Layout, gathering_id: int) -> packing.Packed:
    layout.ensure(gathering_id)
    layout.remove_work(gathering_id)
    packed = packing.pack(
        tree, layout.archive(gathering_id), partial=layout.partial_archive(gathering_id), limit=None
    )
    assert packed.index is not None
    index.save(packed.index, layout.archive_index(gathering_id))
    return packed


async def archived_tree(state: Path, tree: Path) -> tuple[int, packing.Packed]:
    await asyncio.to_thread(state.mkdir, parents=True, exist_ok=True)
    layout = Layout(state / "data")
    store = await GatheringStore.open(records.database_url(state))
    try:
        record = await store.create(GatheringOptions.of(image="bench"), requested_by="bench")
        packed = await asyncio.to_thread(_pack, tree, layout, record.id)
        await store.update(
            record.id,
            status=Status.COMPLETED,
            started_at=now(),
            finished_at=now(),
            archive_size=packed.size,
            archive_sha256=packed.sha256,
            archive_name="must-gather.tar.gz",
        )
        return record.id, packed
    finally:
        await store.close()


async def _first_byte(session: aiohttp.ClientSession, url: str) -> float:
    started = time.perf_counter()
    async with session.get(url) as response:
        assert response.status == 200, await response.text()
        await response.content.readany()
        return time.perf_counter() - started


def _tar_first_byte(archive: Path, member: str) -> float:
    """Until `tar` writes the member's first byte (it stops after the member)."""
    started = time.perf_counter()
    with subprocess.Popen(
        ["tar", "xzf", str(archive), "--occurrence", "-O", member], stdout=subprocess.PIPE
    ) as tar:
        assert tar.stdout is not None
        tar.stdout.read(1)
        elapsed = time.perf_counter() - started
        tar.kill()
    return elapsed


async def _equal(session: aiohttp.ClientSession, url: str, expected: bytes) -> bool:
    async with session.get(url) as whole:
        if await whole.read() != expected:
            return False
    start = len(expected) // 3
    async with session.get(url, headers={"Range": f"bytes={start}-"}) as part:
        return part.status == 206 and await part.read() == expected[start:]


async def run(work: Path, *, quick: bool) -> dict[str, Any]:
    size = (128 * MIB) if quick else GIB
    tree, state = work / "tree", work / "state"
    await asyncio.to_thread(textlog.main, ["textlog", str(tree / "must-gather"), str(size)])
    started = time.perf_counter()
    gathering_id, packed = await archived_tree(state, tree / "must-gather")
    pack_seconds = time.perf_counter() - started
    assert packed.index is not None
    archive = state / "data" / "gatherings" / str(gathering_id) / "archive"
    files = [m for m in packed.index.members if m.type == index.FILE]
    chosen = random.Random(7).sample(files, min(SAMPLES, len(files)))
    ours: list[float] = []
    peer: list[float] = []
    equal = True
    async with serving.running(state) as service, aiohttp.ClientSession() as session:
        base = f"{service.url}/must-gather/{gathering_id}/files/"
        await _first_byte(session, base + chosen[0].path)  # the index is loaded once
        for member in chosen:
            ours.append(await _first_byte(session, base + member.path))
            peer.append(await asyncio.to_thread(_tar_first_byte, archive, member.path))
            expected = (tree / member.path).read_bytes()
            equal = equal and await _equal(session, base + member.path, expected)
    result: dict[str, Any] = {
        "archive_bytes": packed.size,
        "tree_bytes": size,
        "files": len(files),
        "checkpoints": len(packed.index.checkpoints),
        "pack_seconds": round(pack_seconds, 2),
        "service_first_byte_s": summary(ours),
        "service_p99_s": round(percentile(ours, 0.99), 4),
        "tar_occurrence_first_byte_s": summary(peer),
        "byte_equal_with_range": equal,
    }
    result["ratio"] = ratio(result["service_first_byte_s"]["median"], summary(peer)["median"])
    result["goal"] = "first byte <= 1/100 of tar --occurrence and <= 50 ms (p50, p99)"
    result["met"] = bool(
        equal
        and result["ratio"] is not None
        and result["ratio"] <= 0.01
        and result["service_p99_s"] <= 0.05
    )
    return result


def row(result: dict[str, Any]) -> list[str]:
    return [
        "member_read",
        f"p50 {result['service_first_byte_s']['median'] * 1000:.1f} ms, "
        f"p99 {result['service_p99_s'] * 1000:.1f} ms",
        f"{result['tar_occurrence_first_byte_s']['median'] * 1000:.0f} ms (tar --occurrence)",
        str(result["ratio"]),
        f"{result['files']} files, {result['archive_bytes'] // MIB} MiB, byte-equal: "
        f"{result['byte_equal_with_range']}",
        "yes" if result["met"] else "no",
    ]
