"""The Kubernetes objects of gatherings' archives (``kubeview``), built once and kept.

Building parses every object file of an archive: it runs in the archive-work pool, once
per archive (a few are kept in memory), and is rebuilt if the archive changes.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from must_gather_api.analysis.source import over_archive
from must_gather_api.archive import background
from must_gather_api.archive.index import ArchiveIndex
from must_gather_api.gatherings.indexes import ArchiveIndexes
from must_gather_api.kubeview.objects import ArchiveObjects, load

KEPT = 4


def _build(archive: Path, index: ArchiveIndex) -> ArchiveObjects:
    with archive.open("rb") as file:
        return load(over_archive(file, index))


@dataclass
class KubeViews:
    indexes: ArchiveIndexes
    kept: int = KEPT
    _cache: OrderedDict[int, tuple[ArchiveIndex, ArchiveObjects]] = field(
        default_factory=OrderedDict
    )
    _locks: dict[int, asyncio.Lock] = field(default_factory=dict)

    async def get(self, gathering_id: int) -> tuple[ArchiveIndex, ArchiveObjects]:
        indexed = await self.indexes.get(gathering_id)
        async with self._locks.setdefault(gathering_id, asyncio.Lock()):
            known = self._cache.get(gathering_id)
            if known is None or known[0] is not indexed.index:
                archive = self.indexes.layout.archive(gathering_id)
                objects = await background.run(_build, archive, indexed.index)
                known = (indexed.index, objects)
                self._cache[gathering_id] = known
            self._cache.move_to_end(gathering_id)
            while len(self._cache) > self.kept:
                evicted, _ = self._cache.popitem(last=False)
                self._locks.pop(evicted, None)
            return known
