"""SERVING_CPUS: CPUs kept for answering requests, the others for copying and packing.

Background work already yields the CPU (SCHED_IDLE, ``lifetimes.background_priority``),
but on the same core it still evicts the caches a request's code and data live in: on a
2-core machine, with four gatherings copying and packing, a poll's p99 doubled although
the CPU was never saturated. Given cores of its own, the serving process finds them warm.

``reserve`` runs once in ``serve``, before the server starts its worker and threads: the
process takes the serving CPUs (its children and threads inherit them) and leaves the
background set in an environment variable (internal, not a setting). ``spares.spawn``
moves each worker process there a moment into its start, before its imports, and the
threads that lower their priority for background work move there too
(``enter_background``). This only pays on CPUs the
service has to itself (a VM, Kubernetes' static CPU manager): on a node's shared pool the
reserved CPUs are shared with everything else, so the default is no reservation.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass

BACKGROUND_VARIABLE = "MUST_GATHER_API_BACKGROUND_CPUS"
"""From ``serve`` to the processes it starts; not a setting (``reserve`` writes it)."""


class CannotKeepCpus(ValueError):
    """SERVING_CPUS cannot be honoured here: it leaves no CPU for the background work, or
    the process may not choose its CPUs (the message says which)."""


@dataclass(frozen=True)
class Split:
    serving: frozenset[int]
    background: frozenset[int]


def listed(cpus: Iterable[int]) -> str:
    """``0-2,5``: the kernel's list format, as ``taskset -c`` and cpuset take it."""
    ranges: list[str] = []
    for cpu in sorted(set(cpus)):
        if ranges and cpu == int(ranges[-1].split("-")[-1]) + 1:
            ranges[-1] = f"{ranges[-1].split('-')[0]}-{cpu}"
        else:
            ranges.append(str(cpu))
    return ",".join(ranges)


def parse(text: str) -> frozenset[int]:
    """The CPUs of a list as ``listed`` writes it; ValueError when it is not one."""
    cpus: set[int] = set()
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        low, high = int(first), int(last or first)
        if low < 0 or high < low:
            raise ValueError(f"not a CPU range: {part!r}")
        cpus.update(range(low, high + 1))
    return frozenset(cpus)


def split(allowed: Iterable[int], serving: int) -> Split:
    """The lowest-numbered ``serving`` of ``allowed`` for serving, the rest for the
    background."""
    ordered = sorted(set(allowed))
    if serving >= len(ordered):
        raise CannotKeepCpus(
            f"SERVING_CPUS={serving} leaves no CPU for copying and packing: this process may "
            f"run on {len(ordered)} ({listed(ordered)}); set it to at most {len(ordered) - 1}, "
            "or 0 for no reservation"
        )
    return Split(frozenset(ordered[:serving]), frozenset(ordered[serving:]))


def reserve(serving: int, environ: MutableMapping[str, str] = os.environ) -> Split | None:
    """Moves the calling thread (and what it starts from now on) to the serving CPUs and
    tells later processes the background ones. None, and nothing changed, for 0."""
    if serving == 0:
        return None
    chosen = split(os.sched_getaffinity(0), serving)
    try:
        os.sched_setaffinity(0, chosen.serving)
    except OSError as e:  # a seccomp profile or a cpuset that forbids it
        raise CannotKeepCpus(
            f"SERVING_CPUS={serving}: this process may not choose its CPUs here "
            f"({e.strerror}); set it to 0"
        ) from e
    environ[BACKGROUND_VARIABLE] = listed(chosen.background)
    return chosen


def enter_background(environ: MutableMapping[str, str] = os.environ) -> None:
    """Moves the calling thread (and what it starts from now on) to the background CPUs,
    where ``reserve`` set some; otherwise nothing changes."""
    move_to_background(0, environ)


def move_to_background(pid: int, environ: MutableMapping[str, str] = os.environ) -> None:
    """Moves process ``pid``'s main thread (0: the calling thread) and the threads and
    processes it starts from then on to the background CPUs, where ``reserve`` set some.
    A list that cannot be used here (a changed cgroup) or a process already gone leaves
    things as they are: the work still runs, only less apart."""
    text = environ.get(BACKGROUND_VARIABLE, "").strip()
    if not text:
        return
    with contextlib.suppress(ValueError, OSError):
        os.sched_setaffinity(pid, parse(text))
