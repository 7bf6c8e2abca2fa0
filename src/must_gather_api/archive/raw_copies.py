"""The pods' raw tar copies a gathering keeps until its archive is built from them.

A copy (``copy-<pod>-<random>.tar`` in the gathering's directory, beside ``work/``) counts
only once it is recorded: a record (``<copy>.source``, written whole then renamed into
place) names the pod and the folder of the tree the copy belongs under (``<image>`` or
``<node>/<image>``). A copy without one was cut short (a process killed while copying) and
is never used. A pod copied again (a resumed gathering) replaces its earlier copy.
Records are read by the one-pass packer's caller, the copying budget, and the cores'
collection. All functions here block.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from must_gather_api.archive.members import clean_name
from must_gather_api.archive.tarstream import TarError, TarReader

PATTERN = "copy-*.tar"
RECORD = ".source"


@dataclass(frozen=True)
class RawCopy:
    tar: Path
    folder: str  # relative to the work tree
    pod: str


def _record_path(tar: Path) -> Path:
    return tar.with_name(tar.name + RECORD)


def record(tar: Path, *, folder: str, pod: str) -> None:
    """``tar`` is complete: it belongs under ``folder``. Earlier copies of ``pod`` go."""
    target = _record_path(tar)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(json.dumps({"folder": folder, "pod": pod}), encoding="utf-8")
    os.replace(partial, target)
    # Only those recorded before this one: two processes recording one pod at once (one
    # outliving its restart) each remove the earlier copy, never both copies.
    for earlier in recorded(tar.parent):
        if earlier.tar == tar:
            break
        if earlier.pod == pod:
            forget(earlier.tar)


def forget(tar: Path) -> None:
    _record_path(tar).unlink(missing_ok=True)
    tar.unlink(missing_ok=True)


def recorded(directory: Path) -> list[RawCopy]:
    """The complete copies, in the order they were recorded."""
    found: list[tuple[int, str, RawCopy]] = []
    for tar in directory.glob(PATTERN):
        try:
            record_file = _record_path(tar)
            stamp = record_file.stat().st_mtime_ns
            facts = json.loads(record_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        found.append((stamp, tar.name, RawCopy(tar, str(facts["folder"]), str(facts["pod"]))))
    return [copy for _stamp, _name, copy in sorted(found, key=lambda item: item[:2])]


def remove_all(directory: Path) -> None:
    """Every copy, recorded or not, and every record."""
    for path in directory.glob(PATTERN + "*"):
        path.unlink(missing_ok=True)


def kept_bytes(directory: Path, *, but_of_pod: str | None = None) -> int:
    """What the recorded copies take on disk: the copying budget counts it. ``but_of_pod``
    leaves out an earlier copy of that pod (a new one replaces it)."""
    total = 0
    for copy in recorded(directory):
        if copy.pod == but_of_pod:
            continue
        try:
            total += copy.tar.stat().st_size
        except OSError:
            continue
    return total


def files_named(tars: list[Path], filename: str, *, max_entries: int | None) -> int:
    """How many regular members of the copies are called ``filename`` (in any folder):
    an image that packs its own archive has exactly one. Reads headers only."""
    count = 0
    for tar in tars:
        try:
            with tar.open("rb") as raw:
                for member in TarReader(raw, max_entries=max_entries):
                    if member.kind != "file":
                        continue
                    relative = clean_name(member.name)
                    if relative is not None and relative.rsplit("/", 1)[-1] == filename:
                        count += 1
        except (OSError, TarError):
            continue  # the one pass reports what is wrong with it
    return count
