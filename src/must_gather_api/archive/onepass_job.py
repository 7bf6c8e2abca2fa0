"""Running the one-pass packer (``onepass``) on the pods' raw copies, and the packer
(``packing.pack``) on a tree, in the isolated worker.

The raw copies are hostile by assumption, as they are for extraction: the job runs under
the worker's memory cap, CPU cap and the gathering's deadline. When it does not finish
(stopped at the deadline, killed, cancelled, failed) nothing it was writing is left: not
the partial archive, not an archive renamed just before the worker was stopped, not the
index. The raw copies are the caller's and stay where they are.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from must_gather_api.archive import isolated, packing
from must_gather_api.archive.members import Extracted
from must_gather_api.archive.onepass import Source


@dataclass(frozen=True)
class Streamed:
    packed: packing.Packed  # its index is already saved at the path given (index=None here)
    extracted: tuple[Extracted, ...]  # one per source, in order
    one_pass: bool  # False when a stream replaced its own members and it was extracted


@dataclass(frozen=True)
class Unpacked:
    """The sources held an image's own archive: they were unpacked into the tree, from
    which that archive is served, and nothing was packed."""

    extracted: tuple[Extracted, ...]  # one per source, in order


async def build(
    tree: Path,
    sources: list[Source],
    destination: Path,
    *,
    partial: Path,
    index_path: Path,
    limit: int | None,
    max_entries: int | None,
    deadline: float,
) -> Streamed:
    """``onepass.build`` in the worker. packing.ArchiveTooLarge past ``limit`` bytes of data
    or of archive, or past ``max_entries`` in a stream; isolated.WorkerFailed otherwise
    (kinds: not-tar, memory, disk, deadline, stopped)."""
    request = _request(tree, sources, destination, partial, index_path, limit, max_entries)
    return _streamed(await _run(request, deadline, partial, destination, index_path))


async def build_gathering(
    tree: Path,
    sources: list[Source],
    destination: Path,
    *,
    partial: Path,
    index_path: Path,
    limit: int | None,
    max_entries: int | None,
    deadline: float,
    own_archive: str,
) -> Streamed | Unpacked:
    """``build`` as a gathering's archive is built: with ``event-filter.html`` of the
    sources' events.yaml files, unless the tree and sources hold exactly one file named
    ``own_archive`` (an image's own archive), when they are unpacked into ``tree`` instead."""
    request = _request(tree, sources, destination, partial, index_path, limit, max_entries)
    request.update(events=True, own_archive=own_archive)
    result = await _run(request, deadline, partial, destination, index_path)
    if result.get("unpacked"):
        return Unpacked(tuple(Extracted(**found) for found in result["extracted"]))
    return _streamed(result)


def _request(
    tree: Path,
    sources: list[Source],
    destination: Path,
    partial: Path,
    index_path: Path,
    limit: int | None,
    max_entries: int | None,
) -> dict[str, Any]:
    return {
        "operation": "one-pass",
        "tree": str(tree),
        "sources": [[str(source.tar), source.folder] for source in sources],
        "destination": str(destination),
        "partial": str(partial),
        "index": str(index_path),
        "limit": limit,
        "max_entries": max_entries,
    }


def _streamed(result: dict[str, Any]) -> Streamed:
    return Streamed(
        packing.Packed(size=result["size"], sha256=result["sha256"], entries=result["entries"]),
        tuple(Extracted(**found) for found in result["extracted"]),
        one_pass=bool(result["one_pass"]),
    )


async def pack(
    tree: Path,
    destination: Path,
    *,
    partial: Path,
    index_path: Path | None,
    limit: int | None,
    deadline: float,
) -> packing.Packed:
    """``packing.pack`` of ``tree`` in the worker, its index saved at ``index_path`` when one
    is given (``Packed.index`` is None either way); errors as ``build``'s."""
    request = {
        "operation": "pack",
        "tree": str(tree),
        "destination": str(destination),
        "partial": str(partial),
        "index": str(index_path) if index_path is not None else None,
        "limit": limit,
    }
    leftovers = (partial, destination) if index_path is None else (partial, destination, index_path)
    result = await _run(request, deadline, *leftovers)
    return packing.Packed(size=result["size"], sha256=result["sha256"], entries=result["entries"])


async def _run(request: dict[str, Any], deadline: float, *written: Path) -> dict[str, Any]:
    try:
        return await isolated.run(request, deadline=deadline)
    except BaseException as e:
        await asyncio.shield(asyncio.to_thread(_remove, *written))
        if isinstance(e, isolated.WorkerFailed) and e.kind in ("too-large", "too-many-entries"):
            raise packing.ArchiveTooLarge(e.message) from e
        raise


def _remove(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".partial").unlink(missing_ok=True)  # index.save's
        path.with_name(path.name + ".members").unlink(missing_ok=True)  # index_spool's
