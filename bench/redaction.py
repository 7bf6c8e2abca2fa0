"""8. Redaction: the default configuration over 1 GiB of log-like text holding addresses and
MACs, against GNU ``sed -E`` doing the same IP and MAC replacements on the same files in the
same run (goal: at least as fast), and packing with redaction against packing without
(goal: at most 1.5 times as long). Runs locally on a generated tree, without a cluster.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path
from typing import Any

from bench.gathering import GENERATOR
from bench.reporting import GIB, MIB, ratio, summary
from must_gather_api.archive import packing
from must_gather_api.gatherings.redacting import redact
from must_gather_api.redaction import DEFAULT_CONFIG

# sed -E over each file (to /dev/null): IPv4 in dotted and dashed form, and MACs.
OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
SED_SCRIPT = (
    f"s/{OCTET}([.-]){OCTET}[.-]{OCTET}[.-]{OCTET}/x-ipv4-x/g;"
    "s/[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}/x-mac-x/g"
)


def make_tree(root: Path, size: int) -> Path:
    """The benchmarks' log generator, then an address or a MAC on about one line in ten."""
    import subprocess
    import sys

    tree = root / "tree"
    subprocess.run([sys.executable, str(GENERATOR), str(tree), str(size)], check=True)
    rng = random.Random(7)
    for path in sorted(tree.rglob("*.log")):
        lines = path.read_bytes().split(b"\n")
        for index in range(0, len(lines), 10):
            host = rng.randint(1, 250)
            extra = (
                f" peer=10.0.{host % 8}.{host} node=ip-10-0-{host % 8}-{host}"
                if index % 20
                else f" mac=fa:16:3e:{host:02x}:00:{host % 16:02x}"
            )
            lines[index] += extra.encode()
        path.write_bytes(b"\n".join(lines))
    return tree


def log_files(tree: Path) -> tuple[list[str], int]:
    """The generated files, and their bytes."""
    files = sorted(tree.rglob("*.log"))
    return [str(p) for p in files], sum(p.stat().st_size for p in files)


async def sed_seconds(files: list[str]) -> float:
    started = time.perf_counter()
    for file in files:
        process = await asyncio.create_subprocess_exec(
            "sed", "-E", SED_SCRIPT, file, stdout=asyncio.subprocess.DEVNULL
        )
        if await process.wait() != 0:
            raise RuntimeError("sed failed")
    return time.perf_counter() - started


def pack_seconds(tree: Path, work: Path, *, redacted: bool) -> float:
    started = time.perf_counter()
    out, partial = work / "out.tar.gz", work / "out.partial"
    if redacted:
        redact(
            tree,
            out,
            partial=partial,
            limit=None,
            config=DEFAULT_CONFIG,
            report=work / "report.yaml",
        )
    else:
        packing.pack(tree, out, partial=partial, limit=None)
    seconds = time.perf_counter() - started
    out.unlink()
    return seconds


async def run(work: Path, *, quick: bool) -> dict[str, Any]:
    size = 64 * MIB if quick else GIB
    runs = 1 if quick else 2
    tree = await asyncio.to_thread(make_tree, work, size)
    files, payload = await asyncio.to_thread(log_files, tree)
    sed, plain, redacted = [], [], []
    for _ in range(runs):
        sed.append(await sed_seconds(files))
        plain.append(await asyncio.to_thread(pack_seconds, tree, work, redacted=False))
        redacted.append(await asyncio.to_thread(pack_seconds, tree, work, redacted=True))
    sed_s, plain_s, redacted_s = summary(sed), summary(plain), summary(redacted)
    # Redaction alone: the redacted packing's time beyond plain packing.
    cleaning = max(redacted_s["median"] - plain_s["median"], 1e-9)
    throughput = payload / cleaning / MIB
    sed_throughput = payload / sed_s["median"] / MIB
    added = ratio(redacted_s["median"], plain_s["median"])
    return {
        "sizes": {"payload_bytes": payload},
        "runs": runs,
        "cpus": os.cpu_count(),
        "sed_seconds": sed_s,
        "pack_seconds": plain_s,
        "redacted_pack_seconds": redacted_s,
        "redaction_mib_per_second": round(throughput, 1),
        "sed_mib_per_second": round(sed_throughput, 1),
        "throughput_ratio": ratio(throughput, sed_throughput),
        "added_time_ratio": added,
        "met": bool(throughput >= sed_throughput and added is not None and added <= 1.5),
        "goal": "redaction at least as fast as sed -E; redacted packing <= 1.5x plain packing",
        "payload_gib": round(payload / GIB, 3),
    }


def row(result: dict[str, Any]) -> list[str]:
    return [
        "redaction",
        f"{result['redaction_mib_per_second']} MiB/s",
        f"{result['sed_mib_per_second']} MiB/s (sed -E)",
        str(result["throughput_ratio"]),
        f"packing redacted/plain {result['added_time_ratio']}",
        "yes" if result["met"] else "no",
    ]
