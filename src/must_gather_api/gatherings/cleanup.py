"""Cleanup: remove gatherings that are too old, files no record owns, and archives
past the total size limit.

It runs on the replica that leads the housekeeping (``leadership``): when it is elected
(at start, with one replica) and then every CLEANUP_INTERVAL while it leads. It never
touches a gathering that is queued or running: only finished records are considered, and
the runner is asked about every directory before it goes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from must_gather_api.errors import MustGatherError
from must_gather_api.gatherings.layout import Layout
from must_gather_api.gatherings.store import GatheringStore, now

log = logging.getLogger(__name__)

QUOTA_REASON = "removed to keep all archives under ARCHIVE_MAX_TOTAL_BYTES"


@dataclass(frozen=True)
class CleanupReport:
    expired: int = 0
    orphans: int = 0
    archives_removed: int = 0


class Cleaner:
    def __init__(
        self,
        *,
        store: GatheringStore,
        layout: Layout,
        max_age: timedelta | None,
        max_total_bytes: int | None,
        is_busy: Callable[[int], bool],
    ) -> None:
        self._store = store
        self._layout = layout
        self._max_age = max_age
        self._max_total_bytes = max_total_bytes
        self._is_busy = is_busy

    async def run_forever(
        self, *, interval: timedelta, leads: Callable[[], bool] = lambda: True
    ) -> None:
        """Every ``interval``, while this replica ``leads`` the housekeeping; the round at
        start (or at election) is ``run_logged``'s."""
        while True:
            await asyncio.sleep(interval.total_seconds())
            if leads():
                await self.run_logged()

    async def run_logged(self) -> None:
        """One round; a failure is logged, and the next round tries again."""
        try:
            await self.run_once()
        except MustGatherError as e:
            log.warning("cleanup skipped this round: %s", e.message)
        except Exception:
            log.exception("cleanup failed; it will try again")

    async def run_once(self) -> CleanupReport:
        expired = await self._remove_expired()
        orphans = await self._remove_orphans()
        archives = await self._enforce_quota()
        report = CleanupReport(expired=expired, orphans=orphans, archives_removed=archives)
        if expired or orphans or archives:
            log.info(
                "cleanup removed %d expired gatherings, %d orphaned directories, %d archives",
                expired,
                orphans,
                archives,
            )
        return report

    async def _remove_expired(self) -> int:
        if self._max_age is None:
            return 0
        removed = 0
        for gathering in await self._store.finished(before=now() - self._max_age):
            if self._is_busy(gathering.id):
                continue
            # Record first: a record without files reads as "archive gone"; files
            # without a record would be found again as orphans.
            await self._store.delete(gathering.id)
            await asyncio.to_thread(self._layout.remove, gathering.id)
            removed += 1
        return removed

    async def _remove_orphans(self) -> int:
        on_disk = await asyncio.to_thread(self._layout.existing_ids)
        if not on_disk:
            return 0
        known = await self._store.ids()
        removed = 0
        for gathering_id in sorted(on_disk - known):
            if self._is_busy(gathering_id):
                continue
            await asyncio.to_thread(self._layout.remove, gathering_id)
            removed += 1
        return removed

    async def _enforce_quota(self) -> int:
        if self._max_total_bytes is None:
            return 0
        with_archives = [g for g in await self._store.finished() if g.has_archive]
        total = sum(g.archive_size for g in with_archives)
        removed = 0
        for gathering in with_archives:  # oldest finished first
            if total <= self._max_total_bytes:
                break
            if self._is_busy(gathering.id):
                continue
            await asyncio.to_thread(self._layout.remove_archive, gathering.id)
            # archive-name is cleared so that clients stop offering a download.
            await self._store.update(gathering.id, archive_removed=QUOTA_REASON, archive_name="")
            total -= gathering.archive_size
            removed += 1
        return removed
