"""Where the bench puts the simulated cluster on this machine's CPUs.

On a deployment the API server, the kubelet and the pods' ``tar`` run on the cluster's
nodes, not beside the service; here kubesim shares the service's two cores. Niceness alone
does not keep it out of the way: with the kernel's autogroups (a scheduling group per
session, which gather pods' ``setsid`` and any new session make) nice values only count
within a group. A cgroup with ``cpu.idle`` set gets the CPU only when no one else wants
it, kubesim's children included, whatever their session. Creating one needs root and a
writable cpu controller; elsewhere the bench falls back to niceness and says so.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

_V1 = Path("/sys/fs/cgroup/cpu")
_V2 = Path("/sys/fs/cgroup")


def _hierarchy() -> Path | None:
    """The cpu controller's hierarchy where an idle group can be made in it."""
    if (_V1 / "cpu.idle").is_file() or (_V1 / "cgroup.procs").is_file():
        return _V1
    with contextlib.suppress(OSError):
        if "cpu" in (_V2 / "cgroup.subtree_control").read_text().split():
            return _V2
    return None


@contextlib.contextmanager
def idle_cpu_group(name: str) -> Iterator[Path | None]:
    """A cgroup whose tasks only get otherwise idle CPU time (write a pid to its
    ``cgroup.procs`` to move a process and its future children there), or None where one
    cannot be made. Removed after, once its tasks have ended."""
    base = _hierarchy()
    group = base / name if base is not None else None
    if group is not None:
        try:
            group.mkdir()
            (group / "cpu.idle").write_text("1")
        except OSError:
            with contextlib.suppress(OSError):
                group.rmdir()
            group = None
    try:
        yield group
    finally:
        if group is not None:
            with contextlib.suppress(OSError):
                group.rmdir()


def describe(group: Path | None, niceness: int) -> str:
    """How the cluster was placed, for the results."""
    if group is not None:
        return f"idle cgroup ({group}), nice {niceness}"
    return f"nice {niceness}" if niceness else "beside the service, same priority"
