"""The end of every gathering: pack what was gathered, record how it went.

Whatever data was collected is archived, even when the gathering failed: on a failing
cluster the point is to get as much as possible.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from pathlib import Path

from must_gather_api.archive import background, index, packing, vetting
from must_gather_api.archive.naming import archive_name
from must_gather_api.executors.base import Outcome
from must_gather_api.gatherings import summaries
from must_gather_api.gatherings.layout import Layout
from must_gather_api.gatherings.outputs import OutputLog
from must_gather_api.gatherings.records import Gathering, Status
from must_gather_api.gatherings.store import GatheringStore, now
from must_gather_api.reasons import public_reason

log = logging.getLogger(__name__)

NO_DATA = "the gathering produced no data"


def _has_data(tree: Path) -> bool:
    return tree.is_dir() and any(tree.iterdir())


async def _make_archive(
    layout: Layout,
    gathering_id: int,
    output: OutputLog,
    *,
    filename: str,
    limit: int | None,
    max_entries: int | None,
) -> packing.Packed | None:
    tree = layout.work_dir(gathering_id)
    if not await asyncio.to_thread(_has_data, tree):
        return None
    destination = layout.archive(gathering_id)
    partial = layout.partial_archive(gathering_id)
    own = await background.run(packing.find_packed_archive, tree, filename)
    if own is None:
        packed = await background.run(packing.pack, tree, destination, partial=partial, limit=limit)
    else:
        served = await vetting.serve_own(
            own,
            tree,
            destination,
            partial=partial,
            scratch=layout.repack_dir(gathering_id),
            limit=limit,
            max_entries=max_entries,
        )
        if served.note:
            output.line(f"[must-gather-api] {served.note}")
        packed = served.packed
    await background.run(_write_index, layout, gathering_id, packed)
    return packed


def _write_index(layout: Layout, gathering_id: int, packed: packing.Packed) -> None:
    """Beside the archive; an image's own archive is read once to build it. An archive that
    cannot be indexed is still served whole by /data (its members just cannot be browsed)."""
    try:
        built = packed.index or index.scan(layout.archive(gathering_id))
        index.save(built, layout.archive_index(gathering_id))
    except index.IndexUnreadable as e:
        log.warning("gathering %d: no index of the archive: %s", gathering_id, e)


def _disk_error(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return "the archive could not be written: no space left on the data volume"
    return f"the archive could not be written: {error.strerror or error}"


async def _analyze(layout: Layout, gathering_id: int, output: OutputLog) -> None:
    """Findings over the new archive, stored beside it; a failure here fails nothing else
    (the summary is then computed when first asked for)."""
    try:
        summary = await background.run(summaries.compute, layout, gathering_id, now())
    except (index.IndexUnreadable, OSError) as e:
        log.warning("gathering %d: the archive was not analyzed: %s", gathering_id, e)
        return
    counts = summary.counts()
    output.line(
        f"[must-gather-api] analysis: {counts['error']} errors, {counts['warning']} warnings "
        f"(GET /must-gather/{gathering_id}/summary)"
    )


async def finish(
    store: GatheringStore,
    layout: Layout,
    gathering: Gathering,
    outcome: Outcome,
    *,
    output: OutputLog,
    archive_filename: str,
    max_archive_bytes: int | None,
    max_archive_entries: int | None = None,
) -> Gathering:
    reason = public_reason(outcome.error_reason, hidden=[layout.data_dir])
    packed: packing.Packed | None = None
    try:
        packed = await _make_archive(
            layout,
            gathering.id,
            output,
            filename=archive_filename,
            limit=max_archive_bytes,
            max_entries=max_archive_entries,
        )
    except packing.ArchiveTooLarge as e:
        reason = reason or e.message
    except OSError as e:
        log.warning("gathering %d: %s", gathering.id, e)
        reason = reason or _disk_error(e)
    finally:
        await background.run(layout.remove_work, gathering.id)
    if packed is None:
        await asyncio.to_thread(layout.remove_archive, gathering.id)
        reason = reason or NO_DATA
        output.line(f"[must-gather-api] no archive: {reason}")
    else:
        output.line(f"[must-gather-api] archive ready: {packed.size} bytes, sha256 {packed.sha256}")
        await _analyze(layout, gathering.id, output)
    if reason:
        output.line(f"[must-gather-api] gathering ended with an error: {reason}")
    reason = public_reason(reason, hidden=[layout.data_dir])
    status = Status.ERROR if reason else Status.COMPLETED
    return await store.update(
        gathering.id,
        status=status,
        error_reason=reason,
        finished_at=now(),
        archive_size=packed.size if packed else 0,
        archive_sha256=packed.sha256 if packed else "",
        archive_name=archive_name(archive_filename, gathering.request.custom_name)
        if packed
        else "",
    )
