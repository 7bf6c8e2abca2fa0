"""From a pod's raw tar copy to the served archive: extraction then packing (the service's
path today: unpack in the isolated worker, pack the tree in the archive pool) against the
one-pass packer (``archive.onepass`` in the isolated worker), alternating runs on the same
copy of log-like text (``textlog.py`` under ``tar -c``). The copy itself is not timed.
"""

from __future__ import annotations

import asyncio
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.reporting import GIB, MIB, ratio, summary
from must_gather_api.archive import background, onepass_job, packing
from must_gather_api.archive.onepass import Source
from must_gather_api.executors.kubernetes import extracting

FOLDER = "docker-io-library-busybox"
GENERATOR = Path(__file__).resolve().with_name("textlog.py")


def raw_copy(work: Path, size: int) -> Path:
    pod = work / "pod"
    subprocess.run([sys.executable, str(GENERATOR), str(pod), str(size)], check=True)
    tar = work / "copy.tar"
    subprocess.run(["tar", "-C", str(pod), "-cf", str(tar), "."], check=True)
    shutil.rmtree(pod)
    return tar


def fresh_tree(work: Path) -> Path:
    tree = work / "tree"
    shutil.rmtree(tree, ignore_errors=True)
    (tree / FOLDER).mkdir(parents=True)
    (tree / FOLDER / "gather.logs").write_text("the pod's log\n")
    (tree / "timestamp").write_text("now\n")
    return tree


async def extraction_then_packing(work: Path, tar: Path) -> float:
    tree = fresh_tree(work)
    started = time.perf_counter()
    await extracting.extract(
        tar, tree / FOLDER, limit=None, max_entries=None, deadline=time.monotonic() + 1800
    )
    await background.run(
        packing.pack, tree, work / "a.tar.gz", partial=work / "a.partial", limit=None
    )
    return time.perf_counter() - started


async def one_pass(work: Path, tar: Path) -> float:
    tree = fresh_tree(work)
    started = time.perf_counter()
    streamed = await onepass_job.build(
        tree,
        [Source(tar, FOLDER)],
        work / "b.tar.gz",
        partial=work / "b.partial",
        index_path=work / "b.index.json",
        limit=None,
        max_entries=None,
        deadline=time.monotonic() + 1800,
    )
    assert streamed.one_pass
    return time.perf_counter() - started


async def run(work: Path, *, quick: bool) -> dict[str, Any]:
    size = 256 * MIB if quick else GIB
    runs = 3 if quick else 5
    tar = await asyncio.to_thread(raw_copy, work, size)
    old: list[float] = []
    new: list[float] = []
    for _ in range(runs):
        old.append(await extraction_then_packing(work, tar))
        new.append(await one_pass(work, tar))
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    old_summary, new_summary = summary(old, digits=3), summary(new, digits=3)
    per_gib = GIB / size
    result = {
        "sizes": {"payload_bytes": size},
        "runs": runs,
        "one_pass_seconds": new_summary,
        "extraction_then_packing_seconds": old_summary,
        "one_pass_seconds_per_gib": round(new_summary["median"] * per_gib, 2),
        "extraction_then_packing_seconds_per_gib": round(old_summary["median"] * per_gib, 2),
        "ratio": ratio(new_summary["median"], old_summary["median"]),
        "largest_child_rss_bytes": children,
        "goal": "none of its own: the step of gather end -> archive ready that one pass replaces",
    }
    result["met"] = True
    return result


def row(result: dict[str, Any]) -> list[str]:
    return [
        "raw copy -> archive",
        f"{result['one_pass_seconds_per_gib']} s/GiB (one pass)",
        f"{result['extraction_then_packing_seconds_per_gib']} s/GiB (extract, then pack)",
        str(result["ratio"]),
        f"{result['sizes']['payload_bytes'] // MIB} MiB copy; largest worker "
        f"{result['largest_child_rss_bytes'] // MIB} MiB",
        "-",
    ]
