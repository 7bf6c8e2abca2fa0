"""Where the CPU went during a measurement: the whole machine's busy cores (from
``/proc/stat``) and those of given process trees (``/proc/<pid>/stat``), so that a result
can say whether the machine, rather than the program measured, was the limit."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.serving import process_tree

_TICK = os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """Busy and total ticks of all cores since boot (iowait counts as idle)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(values[:8])  # guest time is already inside user and nice
    idle = values[3] + values[4]
    return total - idle, total


def process_seconds(pids: list[int]) -> float:
    """User and system CPU seconds of these processes and everything below them, the
    children that ended included."""
    ticks = 0
    for root in pids:
        for pid in process_tree(root):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # it ended meanwhile
            # utime and stime, and cutime and cstime: the children it has waited for
            # (short-lived ones, such as kubesim's pods, leave the tree that way).
            ticks += sum(int(v) for v in fields[11:15])
    return ticks / _TICK


def _children_seconds() -> float:
    spent = resource.getrusage(resource.RUSAGE_CHILDREN)
    return spent.ru_utime + spent.ru_stime


@dataclass
class Usage:
    """Cores busy on average: on the whole machine, in each group of watched processes,
    and in the child processes this one waited for meanwhile (a load generator run to its
    end, such as wrk)."""

    machine: float = 0.0
    watched: dict[str, float] = field(default_factory=dict)
    waited_children: float = 0.0

    def as_dict(self, *, children: str = "waited_children") -> dict[str, float]:
        """``children``: what to call the waited children in the keys."""
        cores = {"machine": self.machine, **self.watched, children: self.waited_children}
        return {f"{name}_busy_cores": round(value, 2) for name, value in cores.items()}


@contextmanager
def usage(watched: dict[str, list[int]]) -> Iterator[Usage]:
    """Filled in when the block ends; ``watched``: process trees by the name to report."""
    found = Usage()
    busy, total = machine_ticks()
    spent = {name: process_seconds(pids) for name, pids in watched.items()}
    children = _children_seconds()
    started = time.monotonic()
    yield found
    elapsed = time.monotonic() - started
    busy_after, total_after = machine_ticks()
    if total_after > total:
        found.machine = (os.cpu_count() or 1) * (busy_after - busy) / (total_after - total)
    if elapsed > 0:
        found.watched = {
            name: (process_seconds(pids) - spent[name]) / elapsed for name, pids in watched.items()
        }
        found.waited_children = (_children_seconds() - children) / elapsed
