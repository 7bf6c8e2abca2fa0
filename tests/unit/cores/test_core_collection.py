"""CoreCollector over a stand-in for the cores service: what lands in cores/<node>/, what is
noted instead, and what the output says, when nodes fail, copy short or take too long."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from must_gather_api.cores.collection import UNAVAILABLE_FILE, CoreCollector
from must_gather_api.cores.service import Cores, Listing
from must_gather_api.errors import CoresUnavailable, NodeUnavailable

pytestmark = pytest.mark.asyncio


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, text: str) -> None:
        self.lines.append(text)


class NodeFiles:
    def __init__(self, owner: StandIn, node: str) -> None:
        self.owner = owner
        self.node = node

    async def chunks(self, core_id: str, size: int) -> AsyncIterator[bytes]:
        data = self.owner.files[self.node, core_id]
        if core_id in self.owner.stalls:
            await asyncio.Event().wait()  # never set: only the copy time ends it
        yield data[: size // 2]
        if core_id not in self.owner.short:
            yield data[size // 2 :]


class StandIn:
    """The cores service as CoreCollector uses it: ``list`` and ``reading``."""

    def __init__(self, cores: list[tuple[str, str, int, bytes]], **unavailable: str) -> None:
        self.files = {(node, core_id): data for node, core_id, _, data in cores}
        self.listing = Listing(
            cores=[
                {"node": node, "id": core_id, "COREDUMP_TIMESTAMP": stamp, "pod": "p"}
                for node, core_id, stamp, _ in cores
            ],
            unavailable=dict(unavailable),
            sizes={(node, core_id): len(data) for node, core_id, _, data in cores},
        )
        self.down: set[str] = set()
        self.short: set[str] = set()
        self.stalls: set[str] = set()
        self.pods_closed = 0
        self.error: Exception | None = None

    async def list(self) -> Listing:
        if self.error is not None:
            raise self.error
        return self.listing

    @contextlib.asynccontextmanager
    async def reading(self, node: str) -> AsyncIterator[NodeFiles]:
        if node in self.down:
            raise NodeUnavailable(f"node {node} could not read its core dumps: gone")
        try:
            yield NodeFiles(self, node)
        finally:
            self.pods_closed += 1


A = ("w0", "core.a.1.zst", 1, b"A" * 1000)
B = ("w0", "core.b.2.zst", 2, b"B" * 3000)
C = ("w1", "core.c.3.zst", 3, b"C" * 2000)


def collector(stand_in: StandIn, *, limit: int | None = None, copy: float = 30) -> CoreCollector:
    return CoreCollector(
        cast(Cores, stand_in),
        max_archive_bytes=limit,
        copy_time=timedelta(seconds=copy),
        archive_filename="must-gather.tar.gz",
    )


def shown(work: Path, node: str, core_id: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((work / "cores" / node / f"{core_id}.json").read_text())
    return found


async def test_all_copies_every_core_with_its_metadata(tmp_path: Path) -> None:
    stand_in = StandIn([A, B, C])
    out = Lines()
    await collector(stand_in).collect(tmp_path, "all", out)
    for node, core_id, _, data in (A, B, C):
        assert (tmp_path / "cores" / node / core_id).read_bytes() == data
        assert ((tmp_path / "cores" / node / core_id).stat().st_mode & 0o777) == 0o600
        assert shown(tmp_path, node, core_id)["in_archive"] is True
    assert sorted(p.name for p in (tmp_path / "cores").rglob("*") if p.is_file()) == sorted(
        [A[1], f"{A[1]}.json", B[1], f"{B[1]}.json", C[1], f"{C[1]}.json"]
    )
    assert stand_in.pods_closed == 2  # one pod per node, both closed
    assert out.lines == [
        "[must-gather-api] cores: added 3 core dumps (6000 bytes) and the metadata of 3"
    ]


async def test_metadata_writes_only_the_json_as_the_api_shows_it(tmp_path: Path) -> None:
    stand_in = StandIn([A, C])
    out = Lines()
    await collector(stand_in).collect(tmp_path, "metadata", out)
    assert shown(tmp_path, "w0", A[1]) == stand_in.listing.cores[0]
    assert sorted(p.name for p in (tmp_path / "cores").rglob("*") if p.is_file()) == [
        f"{A[1]}.json",
        f"{C[1]}.json",
    ]
    assert stand_in.pods_closed == 0
    assert out.lines == ["[must-gather-api] cores: added the metadata of 2 core dumps"]


async def test_a_node_down_a_short_copy_and_a_stalled_one_are_noted_not_kept(
    tmp_path: Path,
) -> None:
    stand_in = StandIn([A, B, C, ("w2", "core.d.4.zst", 4, b"D" * 10)], w3="did not answer")
    stand_in.down.add("w1")
    stand_in.short.add(A[1])
    stand_in.stalls.add("core.d.4.zst")
    out = Lines()
    await collector(stand_in, copy=0.5).collect(tmp_path, "all", out)
    cores = tmp_path / "cores"
    assert (cores / "w0" / B[1]).read_bytes() == B[3]
    assert not (cores / "w0" / A[1]).exists()
    assert not (cores / "w1" / C[1]).exists()
    assert not (cores / "w2" / "core.d.4.zst").exists()
    assert "1000 bytes" in shown(tmp_path, "w0", A[1])["note"]
    assert "gone" in shown(tmp_path, "w1", C[1])["note"]
    assert "not copied within" in shown(tmp_path, "w2", "core.d.4.zst")["note"]
    assert shown(tmp_path, "w0", B[1])["in_archive"] is True
    assert json.loads((cores / UNAVAILABLE_FILE).read_text()) == {"w3": "did not answer"}
    assert stand_in.pods_closed == 2  # w0's and the stalled w2's (w1's never opened)
    assert out.lines[0] == "[must-gather-api] cores: node w3 left out: did not answer"
    assert out.lines[1].startswith("[must-gather-api] cores: added 1 core dump (3000 bytes)")
    assert len(out.lines) == 5  # and one line for each core left out


async def test_names_that_are_no_core_ids_are_never_paths(tmp_path: Path) -> None:
    stand_in = StandIn([A, ("w0", "../../escape", 9, b"x"), ("../w9", "core.e.5", 5, b"y")])
    await collector(stand_in).collect(tmp_path / "work", "all", Lines())
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == [f"work/cores/w0/{A[1]}", f"work/cores/w0/{A[1]}.json"]


async def test_without_access_nothing_is_written_and_the_output_says_why(tmp_path: Path) -> None:
    stand_in = StandIn([A])
    stand_in.error = CoresUnavailable("core dumps cannot be read: no cluster")
    out = Lines()
    await collector(stand_in).collect(tmp_path, "all", out)
    assert not (tmp_path / "cores").exists()
    assert out.lines == [
        "[must-gather-api] cores: none added: core dumps cannot be read: no cluster"
    ]
