"""The output tails a list of gatherings carries, read from disk once per finished gathering.

A list of 10,000 gatherings used to open 10,000 output files on every poll. A finished
gathering's output no longer changes (finishing flushes the output before it records the
status), so its tail is kept in memory, keyed by the record's id and last update: anything
that touches the record afterwards (a takeover by another replica, an archive removed by
cleanup) reads the file again. Running and queued gatherings are always read from disk.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime

from must_gather_api.gatherings.layout import Layout
from must_gather_api.gatherings.outputs import read_tails
from must_gather_api.gatherings.records import Gathering

CAPACITY = 50_000
"""Tails kept: at the list's default 1 KiB each, about 50 MB at most."""


class ListTails:
    """The ``max_bytes`` output tails of the gatherings a list shows."""

    def __init__(self, layout: Layout, max_bytes: int, *, capacity: int = CAPACITY) -> None:
        self._layout = layout
        self._max_bytes = max_bytes
        self._capacity = capacity
        self._kept: OrderedDict[tuple[int, datetime], str] = OrderedDict()
        self.reads = 0
        """Output files read so far (what the cache saves is measurable)."""

    def __len__(self) -> int:
        return len(self._kept)

    async def of(self, gatherings: Sequence[Gathering]) -> list[str]:
        # The cache is touched on the event loop only; the files are read in one thread trip.
        tails: list[str | None] = [self._kept.get(_key(g)) for g in gatherings]
        missing = [i for i, tail in enumerate(tails) if tail is None]
        if missing:
            read = await asyncio.to_thread(
                read_tails,
                [self._layout.output_log(gatherings[i].id) for i in missing],
                self._max_bytes,
            )
            self.reads += len(missing)
            for i, tail in zip(missing, read, strict=True):
                tails[i] = tail
                if gatherings[i].status.finished:
                    self._keep(_key(gatherings[i]), tail)
        for gathering in gatherings:
            key = _key(gathering)
            if key in self._kept:
                self._kept.move_to_end(key)
        return [tail or "" for tail in tails]

    def _keep(self, key: tuple[int, datetime], tail: str) -> None:
        self._kept[key] = tail
        while len(self._kept) > self._capacity:
            self._kept.popitem(last=False)


def _key(gathering: Gathering) -> tuple[int, datetime]:
    return (gathering.id, gathering.updated_at)
