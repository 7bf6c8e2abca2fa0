"""The indexes of gatherings' archives, loaded off the event loop and kept for a while.

An index is read (or, for an archive without one, built) on first use, then kept in
memory for the next requests: listing a directory or fetching a file then costs a
``stat`` of the archive (to notice that it changed or went away), not a parse.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

from must_gather_api.archive import background, index
from must_gather_api.archive.index import ArchiveIndex, Member
from must_gather_api.errors import ArchiveNotAvailable
from must_gather_api.gatherings.layout import Layout

KEPT = 16


@dataclass(frozen=True)
class Indexed:
    index: ArchiveIndex
    by_path: dict[str, Member]


def _still_current(layout: Layout, gathering_id: int, known: Indexed | None) -> bool:
    try:
        return known is not None and known.index.matches(layout.archive(gathering_id))
    except FileNotFoundError as e:
        raise ArchiveNotAvailable(f"gathering {gathering_id} has no archive any more") from e


def _saved(layout: Layout, gathering_id: int) -> Indexed | None:
    saved = index.load(layout.archive_index(gathering_id))
    if saved is None or not saved.matches(layout.archive(gathering_id)):
        return None
    return Indexed(index=saved, by_path=saved.by_path())


def _build(layout: Layout, gathering_id: int) -> Indexed:
    try:
        built = index.scan(layout.archive(gathering_id))
        index.save(built, layout.archive_index(gathering_id))
    except index.IndexUnreadable as e:
        raise ArchiveNotAvailable(
            f"the archive of gathering {gathering_id} cannot be browsed: it is not a readable "
            "tar.gz (download it whole from /data)"
        ) from e
    return Indexed(index=built, by_path=built.by_path())


@dataclass
class ArchiveIndexes:
    layout: Layout
    kept: int = KEPT
    _cache: OrderedDict[int, Indexed] = field(default_factory=OrderedDict)
    _locks: dict[int, asyncio.Lock] = field(default_factory=dict)

    async def get(self, gathering_id: int) -> Indexed:
        """The index of a gathering's archive (which must exist); builds it if needed."""
        lock = self._locks.setdefault(gathering_id, asyncio.Lock())
        async with lock:
            known = self._cache.get(gathering_id)
            if known is not None and await asyncio.to_thread(
                _still_current, self.layout, gathering_id, known
            ):
                return known
            found = await asyncio.to_thread(_saved, self.layout, gathering_id)
            if found is None:
                # Building reads the whole archive: it runs with the other archive work.
                found = await background.run(_build, self.layout, gathering_id)
            self._cache[gathering_id] = found
            self._cache.move_to_end(gathering_id)
            while len(self._cache) > self.kept:
                evicted, _ = self._cache.popitem(last=False)
                self._locks.pop(evicted, None)
            return found

    def forget(self, gathering_id: int) -> None:
        self._cache.pop(gathering_id, None)
