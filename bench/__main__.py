"""``python -m bench [--quick] [NAME ...]``: run the benchmarks, print one table, and write
``bench/results/<name>.json`` for each."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from bench import (
    archive_ready,
    cores_download,
    cores_list,
    download,
    growth,
    kube_get,
    member_read,
    onepass,
    polling,
    redaction,
    replicas,
    responsiveness,
    start,
)
from bench.reporting import write

BENCHMARKS: dict[str, ModuleType] = {
    "download": download,
    "archive_ready": archive_ready,
    "polling": polling,
    "responsiveness": responsiveness,
    "growth": growth,
    "onepass": onepass,
    "start": start,
    "member_read": member_read,
    "kube_get": kube_get,
    "redaction": redaction,
    "cores_list": cores_list,
    "cores_download": cores_download,
    "replicas": replicas,
}
HEADER = ["benchmark", "must-gather-api", "peer", "ratio", "notes", "goal met"]


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    lines = [
        " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [HEADER, *rows]
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


async def run_one(name: str, *, quick: bool, scratch: Path) -> list[str]:
    module = BENCHMARKS[name]
    runner: Callable[..., Awaitable[dict[str, Any]]] = module.run
    work = scratch / name
    work.mkdir()
    started = time.perf_counter()
    load_before = os.getloadavg()
    print(f"== {name} ...", flush=True)
    try:
        result = await runner(work, quick=quick)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["quick"] = quick
    # Other work on the machine moves every figure: the record says how busy it was.
    result["load_average"] = {"before": load_before, "after": os.getloadavg()}
    result["bench_seconds"] = round(time.perf_counter() - started, 1)
    path = write(name, result)
    row: list[str] = module.row(result)
    print("   " + " | ".join(row) + f"   ({result['bench_seconds']} s, {path.name})", flush=True)
    return row


async def main(names: list[str], *, quick: bool) -> int:
    rows, failed = [], 0
    with tempfile.TemporaryDirectory(prefix="must-gather-api-bench-", dir="/var/tmp") as tmp:
        for name in names:
            try:
                rows.append(await run_one(name, quick=quick, scratch=Path(tmp)))
            except Exception:  # one broken benchmark must not hide the others' figures
                traceback.print_exc()
                rows.append([name, "failed", "", "", "see the traceback above", "no"])
                failed += 1
    print()
    print(table(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], metavar="NAME")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer runs")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.names or list(BENCHMARKS), quick=args.quick)))
