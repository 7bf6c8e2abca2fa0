"""What every benchmark reports: the machine, medians with their spread, and the JSON file."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MIB = 1024 * 1024
GIB = 1024 * MIB


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory_bytes": memory,
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def summary(values: list[float], *, digits: int = 4) -> dict[str, Any]:
    """Median and spread ((max - min) / median) of repeated measurements."""
    if not values:
        return {"values": [], "median": None, "min": None, "max": None, "spread": None}
    median = statistics.median(values)
    return {
        "values": [round(v, digits) for v in values],
        "median": round(median, digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "spread": round((max(values) - min(values)) / median, 3) if median else None,
    }


def ratio(ours: float | None, peer: float | None) -> float | None:
    if not ours or not peer:
        return None
    return round(ours / peer, 3)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def command_line() -> str:
    return " ".join(["python -m bench", *sys.argv[1:]])


def write(name: str, result: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document: dict[str, Any] = {"name": name, "command": command_line()}
    document |= {"machine": machine(), **result}
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
