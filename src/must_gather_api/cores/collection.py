"""A gathering's ``cores`` option: the nodes' core dumps in its archive (docs/cores.md).

After the executor has gathered, the cores are listed as ``/apiv1/cores`` lists them (the
service's own identity, short-lived node pods, the same metadata without the environment)
and written into the work directory under ``cores/<node>/``: ``<id>.json`` for each core,
and with ``all`` the core files themselves, newest first, as long as the archive stays
within ``MAX_ARCHIVE_BYTES``. A core left out keeps its JSON, with ``in_archive: false`` and
a ``note`` saying why; the gathering's output says what was added and what was not. Nothing
here fails the gathering: its data is worth more than its cores. An image that packs its own
archive (Forklift's) has it served as it is, so no cores are added to it (the output says so).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from must_gather_api.archive import packing, raw_copies
from must_gather_api.cores import records
from must_gather_api.cores.service import Cores, Listing
from must_gather_api.errors import MustGatherError, NodeUnavailable
from must_gather_api.executors.base import Job, Outcome, Output

CORES_DIR = "cores"
# Not a node name (no "_" in those), so it never meets a node's folder.
UNAVAILABLE_FILE = "_unavailable-nodes.json"
# What tar adds around one file: its header, a PAX header for long names, the padding.
_PER_FILE = 3 * 512
_PREFIX = "[must-gather-api] cores: "
_WRITING = timedelta(seconds=60)

Key = tuple[str, str]


@dataclass
class _Plan:
    """Which cores are copied, which are left out and why."""

    wanted: dict[Key, int] = field(default_factory=dict)
    notes: dict[Key, str] = field(default_factory=dict)


def _used_bytes(tree: Path) -> int:
    """What the gathering holds already, uncompressed: more than it will take packed. The
    pods' raw copies (kept beside the tree until the archive is built) count whole."""
    total = raw_copies.kept_bytes(tree.parent)
    for directory, _dirs, files in os.walk(tree):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_size + _PER_FILE
    return total


def _packed_its_own(tree: Path, filename: str) -> bool:
    """Whether an image packed its own archive: in the tree, or in the raw copies kept
    beside it (their headers only are read)."""
    found = 1 if packing.find_packed_archive(tree, filename) is not None else 0
    copies = [copy.tar for copy in raw_copies.recorded(tree.parent)]
    return found + raw_copies.files_named(copies, filename, max_entries=None) == 1


def _key(core: dict[str, Any]) -> Key:
    return str(core["node"]), str(core.get("id", ""))


def plan(listing: Listing, *, budget: int | None) -> _Plan:
    """Newest first, each core that still fits (``budget`` None: every core)."""
    chosen = _Plan()
    left = budget
    for core in reversed(listing.cores):
        key = _key(core)
        size = listing.sizes.get(key, 0)
        cost = size + 2 * _PER_FILE  # the core and its JSON's header
        if left is None or cost <= left:
            chosen.wanted[key] = size
            if left is not None:
                left -= cost
        else:
            chosen.notes[key] = (
                f"not in the archive: its {size} bytes would take the archive past "
                "MAX_ARCHIVE_BYTES; download it from /apiv1/cores/download/"
                f"{key[0]}/{key[1]}"
            )
    return chosen


def _write_json(path: Path, body: Any) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(body, indent=2, sort_keys=True) + "\n"
    path.write_text(text, encoding="utf-8")
    return len(text)


class CoreCollector:
    """Adds the cores a gathering asked for to its work directory, after the executor."""

    def __init__(
        self,
        cores: Cores,
        *,
        max_archive_bytes: int | None,
        copy_time: timedelta,
        archive_filename: str,
    ) -> None:
        self._cores = cores
        self._archive_filename = archive_filename
        self._limit = max_archive_bytes or None
        self._copy_time = copy_time

    def extra_time(self, job: Job) -> timedelta:
        """What the runner adds to the gathering's time limit for this step."""
        # The list and the copy share ``copy_time``; the rest is for writing the JSON.
        return self._copy_time + _WRITING if job.options.cores != "none" else timedelta(0)

    def after(
        self, gathering: Callable[[], Awaitable[Outcome | None]], job: Job, output: Output
    ) -> Coroutine[Any, Any, Outcome | None]:
        """The run of ``gathering`` (called in the task, so that a cancel before the task
        starts leaves no coroutine unawaited), then the cores it asked for."""
        if job.options.cores == "none":
            return self._only(gathering)
        return self._then_cores(gathering, job, output)

    async def _only(self, gathering: Callable[[], Awaitable[Outcome | None]]) -> Outcome | None:
        return await gathering()

    async def _then_cores(
        self, gathering: Callable[[], Awaitable[Outcome | None]], job: Job, output: Output
    ) -> Outcome | None:
        outcome = await gathering()
        if outcome is not None:
            await self.collect(job.work_dir, job.options.cores, output)
        return outcome

    async def collect(self, work_dir: Path, mode: str, output: Output) -> None:
        deadline = time.monotonic() + self._copy_time.total_seconds()
        own = await asyncio.to_thread(_packed_its_own, work_dir, self._archive_filename)
        if own:
            output.line(
                f"{_PREFIX}none added: the image packed its own {self._archive_filename}, "
                "which is served as it is; read the cores with /apiv1/cores"
            )
            return
        try:
            listing = await self._cores.list()
        except MustGatherError as e:
            output.line(f"{_PREFIX}none added: {e.message}")
            return
        target = work_dir / CORES_DIR
        # Names become paths: a node's answer that is no core id (or node name) is dropped.
        valid = [core for core in listing.cores if _names_a_file(_key(core))]
        listing = dataclasses.replace(listing, cores=valid)
        for node, why in sorted(listing.unavailable.items()):
            output.line(f"{_PREFIX}node {node} left out: {why}")
        if listing.unavailable:
            await asyncio.to_thread(
                _write_json, target / UNAVAILABLE_FILE, dict(sorted(listing.unavailable.items()))
            )
        if not listing.cores:
            output.line(f"{_PREFIX}no core dumps on the nodes that answered")
            return
        if mode == "metadata":
            for core in listing.cores:
                await asyncio.to_thread(_write_json, _json_path(target, _key(core)), core)
            output.line(f"{_PREFIX}added the metadata of {_count(len(listing.cores))}")
            return
        budget = None
        if self._limit is not None:
            budget = self._limit - await asyncio.to_thread(_used_bytes, work_dir)
            budget -= sum(len(json.dumps(core, indent=2)) + 64 for core in listing.cores)
        chosen = plan(listing, budget=budget)
        await self._copy(target, chosen, deadline)
        for core in listing.cores:
            key = _key(core)
            note = chosen.notes.get(key)
            shown = {**core, "in_archive": note is None}
            if note is not None:
                shown["note"] = note
            await asyncio.to_thread(_write_json, _json_path(target, key), shown)
        self._report(listing, chosen, output)

    async def _copy(self, target: Path, chosen: _Plan, deadline: float) -> None:
        """Copies the wanted cores, one pod per node, every node at once, until ``deadline``
        (the copy time from the list's start); a core not copied moves to ``chosen.notes``."""
        by_node: dict[str, list[tuple[str, int]]] = {}
        for (node, core_id), size in chosen.wanted.items():
            by_node.setdefault(node, []).append((core_id, size))
        copied: set[Key] = set()
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                await asyncio.gather(
                    *(
                        self._copy_node(target, node, cores, copied, chosen.notes)
                        for node, cores in by_node.items()
                    )
                )
        except TimeoutError:
            pass  # what was copied stays; the rest is noted below
        for key in list(chosen.wanted):
            if key not in copied:
                chosen.wanted.pop(key)
                chosen.notes.setdefault(
                    key,
                    f"not in the archive: it was not copied within {self._copy_time}; "
                    f"download it from /apiv1/cores/download/{key[0]}/{key[1]}",
                )

    async def _copy_node(
        self,
        target: Path,
        node: str,
        cores: list[tuple[str, int]],
        copied: set[Key],
        notes: dict[Key, str],
    ) -> None:
        try:
            async with self._cores.reading(node) as files:
                for core_id, size in cores:
                    path = target / node / core_id
                    try:
                        await _save(files.chunks(core_id, size), path, size)
                    except MustGatherError as e:
                        notes[node, core_id] = f"not in the archive: {e.message}"
                    else:
                        copied.add((node, core_id))
        except MustGatherError as e:
            for core_id, _size in cores:
                notes.setdefault((node, core_id), f"not in the archive: {e.message}")

    def _report(self, listing: Listing, chosen: _Plan, output: Output) -> None:
        added = sum(chosen.wanted.values())
        output.line(
            f"{_PREFIX}added {_count(len(chosen.wanted))} ({added} bytes) and the metadata "
            f"of {len(listing.cores)}"
        )
        for (node, core_id), note in sorted(chosen.notes.items()):
            output.line(f"{_PREFIX}{node}/{core_id} {note}")


def _count(cores: int) -> str:
    return f"{cores} core dump{'' if cores == 1 else 's'}"


def _names_a_file(key: Key) -> bool:
    return records.valid_node(key[0]) and records.valid_core_id(key[1])


def _json_path(target: Path, key: Key) -> Path:
    return target / key[0] / f"{key[1]}.json"


async def _save(chunks: AsyncIterator[bytes], path: Path, size: int) -> None:
    """The core's bytes into ``path`` (0600: process memory); nothing left of a short copy."""
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
    file = await asyncio.to_thread(open, path, "wb", opener=lambda p, _: os.open(p, flags, 0o600))
    written = 0
    try:
        with file:
            async for chunk in chunks:
                written += len(chunk)
                await asyncio.to_thread(file.write, chunk)
        if written != size:
            raise NodeUnavailable(f"its node sent {written} of its {size} bytes")
    except BaseException:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise
