"""The isolated archive worker: ``python -m must_gather_api.archive.worker``.

It reads one JSON request on stdin, confines itself (an address-space cap, a CPU-time
cap, a lower CPU priority, death with its parent), does the one blocking job asked of it
on an untrusted archive, and writes one JSON reply on stdout. Imports stay light: the
standard library, the tar reader, isal and the packer, all at the start (not when a job
needs them): a spare (``spares``) has them loaded before its job comes.
"""

from __future__ import annotations

import contextlib
import errno
import json
import resource
import sys
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

from isal import igzip

from must_gather_api.archive import index, onepass, packing, unpacking
from must_gather_api.archive.index import ArchiveIndex
from must_gather_api.archive.index_spool import SpooledIndex
from must_gather_api.archive.packing import ArchiveTooLarge
from must_gather_api.archive.seekable import Checkpoint
from must_gather_api.archive.tarstream import TarError, TooManyEntries
from must_gather_api.lifetimes import background_priority, die_with_parent, exit_at_once

NICENESS = 10


def _confine(request: dict[str, Any]) -> None:
    die_with_parent(int(request["parent"]))
    memory = int(request["memory_bytes"])
    cpu = int(request["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    background_priority(NICENESS)


def _open(request: dict[str, Any]) -> BinaryIO:
    path = Path(request["source"])
    if request.get("gzip"):
        return igzip.open(path, "rb")  # type: ignore[no-any-return, no-untyped-call]
    return path.open("rb")


def _run(request: dict[str, Any]) -> dict[str, Any]:
    max_entries = request.get("max_entries")
    operation = request["operation"]
    if operation == "one-pass":
        return _one_pass(request)
    if operation == "pack":
        return _pack(request)
    with _open(request) as source:
        if operation == "check":
            try:
                return unpacking.check(source, max_entries=max_entries).as_json()
            except (OSError, EOFError, ValueError) as e:  # gzip or zlib: not an archive
                raise TarError("it is not a readable tar.gz archive") from e
        if operation == "extract":
            return unpacking.extract(
                source,
                Path(request["root"]),
                limit=request.get("limit"),
                used=int(request.get("used") or 0),
                max_entries=max_entries,
                strict=bool(request.get("strict")),
            ).as_json()
    raise ValueError(f"unknown operation {operation!r}")


def _one_pass(request: dict[str, Any]) -> dict[str, Any]:
    tree = Path(request["tree"])
    sources = [onepass.Source(Path(tar), folder) for tar, folder in request["sources"]]
    events = bool(request.get("events"))
    own = request.get("own_archive")
    if own:  # a gathering's
        for source in sources:  # its folder is there, even if the tree lost it
            (tree / source.folder).mkdir(parents=True, exist_ok=True)
        surveyed = onepass.survey(sources, filename=own, max_entries=request.get("max_entries"))
        in_tree = 1 if packing.find_packed_archive(tree, own) is not None else 0
        if in_tree + surveyed.named == 1:
            # An image that packs its own archive: that archive is served as it is, found
            # in the tree as before, so the copies are unpacked there and nothing is packed.
            found = onepass.extract_all(
                tree,
                sources,
                limit=request.get("limit"),
                max_entries=request.get("max_entries"),
                events=events,
            )
            return {"unpacked": True, "extracted": [each.as_json() for each in found]}
        if events:  # written here from the same walk, so build need not walk again
            onepass.write_page(tree, surveyed.rows)
            events = False
    built = onepass.build(
        tree,
        sources,
        Path(request["destination"]),
        partial=Path(request["partial"]),
        limit=request.get("limit"),
        max_entries=request.get("max_entries"),
        index_path=Path(request["index"]),
        events=events,
    )
    if built.packed.index is not None:  # the fallback's: packing keeps it in memory
        index.save(built.packed.index, Path(request["index"]))
    return {
        "size": built.packed.size,
        "sha256": built.packed.sha256,
        "entries": built.packed.entries,
        "extracted": [found.as_json() for found in built.extracted],
        "one_pass": built.one_pass,
    }


def _pack(request: dict[str, Any]) -> dict[str, Any]:
    tree = Path(request["tree"])
    destination, partial = Path(request["destination"]), Path(request["partial"])
    # The index goes to disk as it is written, as the one pass's does (a tree of a million
    # files would hold it in the worker's capped memory otherwise); none for an archive only
    # kept.
    indexing: contextlib.AbstractContextManager[packing.Indexer] = (
        SpooledIndex(Path(request["index"]))
        if request.get("index")
        else contextlib.nullcontext(_Unindexed())
    )
    with indexing as indexed:
        packed = packing.write_archive(
            packing.tree_entries(tree),
            destination,
            partial=partial,
            limit=request.get("limit"),
            top="must-gather",
            indexed=indexed,
        )
    return {"size": packed.size, "sha256": packed.sha256, "entries": packed.entries}


class _Unindexed:
    """No index: an archive only kept (the un-redacted original) is never browsed."""

    def add(self, info: tarfile.TarInfo) -> None:
        del info

    def build(self, checkpoints: Iterable[Checkpoint], archive: Path) -> ArchiveIndex | None:
        del checkpoints, archive
        return None


def _reply(request: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"ok": True, "result": _run(request)}
    except (unpacking.TooLarge, ArchiveTooLarge) as e:
        return {"ok": False, "kind": "too-large", "message": str(e)}
    except TooManyEntries as e:
        return {"ok": False, "kind": "too-many-entries", "message": str(e)}
    except TarError as e:
        return {"ok": False, "kind": "not-tar", "message": str(e)}
    except MemoryError:
        return {"ok": False, "kind": "memory", "message": "it needed more memory than allowed"}
    except OSError as e:
        # Past RLIMIT_AS an allocation by a C library (zlib, isal, mmap) fails as ENOMEM.
        if e.errno == errno.ENOMEM:
            return {"ok": False, "kind": "memory", "message": "it needed more memory than allowed"}
        return {"ok": False, "kind": "disk", "message": e.strerror or "a file could not be written"}


def main() -> int:
    raw = sys.stdin.buffer.read()
    if not raw:  # a spare whose service ended before it had a job for it
        return 0
    request = json.loads(raw)
    _confine(request)
    sys.stdout.write(json.dumps(_reply(request)))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    exit_at_once(main())
