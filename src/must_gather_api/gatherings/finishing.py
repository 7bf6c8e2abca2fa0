"""The end of every gathering: pack what was gathered, record how it went.

Whatever data was collected is archived, even when the gathering failed: on a failing
cluster the point is to get as much as possible.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import shutil
from dataclasses import dataclass

from must_gather_api.archive import background, index, packing
from must_gather_api.archive.naming import archive_name
from must_gather_api.executors.base import Outcome
from must_gather_api.gatherings import redacting, summaries
from must_gather_api.gatherings.layout import Layout
from must_gather_api.gatherings.outputs import OutputLog
from must_gather_api.gatherings.records import Gathering, Status
from must_gather_api.gatherings.store import GatheringStore, now
from must_gather_api.redaction import DEFAULT_CONFIG, RedactionConfig, RedactionReport

log = logging.getLogger(__name__)

NO_DATA = "the gathering produced no data"


@dataclass(frozen=True)
class Redaction:
    config: RedactionConfig
    keep_original: bool = False


def _make_archive(
    layout: Layout,
    gathering_id: int,
    *,
    filename: str,
    limit: int | None,
    redaction: Redaction | None = None,
) -> tuple[packing.Packed, RedactionReport | None] | None:
    tree = layout.work_dir(gathering_id)
    if not tree.is_dir() or not any(tree.iterdir()):
        return None
    report: RedactionReport | None = None
    destination = layout.archive(gathering_id)
    partial = layout.partial_archive(gathering_id)
    own = packing.find_packed_archive(tree, filename)
    if redaction is not None:
        if redaction.keep_original:
            original = layout.original_archive(gathering_id)
            if own is not None:
                shutil.copyfile(own, original)
            else:
                packing.pack(tree, original, partial=partial, limit=limit)
        redacted = redacting.redact(
            own or tree,
            destination,
            partial=partial,
            limit=limit,
            config=redaction.config,
            report=layout.redaction_report(gathering_id),
        )
        packed, report = redacted.packed, redacted.report
    elif own is not None:
        packed = packing.adopt(own, destination, partial=partial, limit=limit)
    else:
        packed = packing.pack(tree, destination, partial=partial, limit=limit)
    _write_index(layout, gathering_id, packed)
    return packed, report


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
    redaction: RedactionConfig | None = None,
) -> Gathering:
    reason = outcome.error_reason
    made: tuple[packing.Packed, RedactionReport | None] | None = None
    options = gathering.request
    # A gathering accepted with redact is redacted whatever the settings are now.
    redacted = (
        Redaction(redaction or DEFAULT_CONFIG, keep_original=options.keep_original)
        if options.redact
        else None
    )
    try:
        made = await background.run(
            _make_archive,
            layout,
            gathering.id,
            filename=archive_filename,
            limit=max_archive_bytes,
            redaction=redacted,
        )
    except packing.ArchiveTooLarge as e:
        reason = reason or e.message
    except index.IndexUnreadable as e:
        log.warning("gathering %d: %s", gathering.id, e)
        reason = reason or "the image's archive could not be redacted: it is not a readable tar"
    except OSError as e:
        log.warning("gathering %d: %s", gathering.id, e)
        reason = reason or _disk_error(e)
    finally:
        await background.run(layout.remove_work, gathering.id)
    packed = made[0] if made else None
    if made is None or packed is None:
        await asyncio.to_thread(layout.remove_archive, gathering.id)
        reason = reason or NO_DATA
        output.line(f"[must-gather-api] no archive: {reason}")
    else:
        if made[1] is not None:
            output.line(
                f"[must-gather-api] redacted: {made[1].replaced} replacements, "
                f"{len(made[1].omissions)} files left out (the report: "
                f"GET /must-gather/{gathering.id}/redaction-report, admins only)"
            )
        output.line(f"[must-gather-api] archive ready: {packed.size} bytes, sha256 {packed.sha256}")
        await _analyze(layout, gathering.id, output)
    if reason:
        output.line(f"[must-gather-api] gathering ended with an error: {reason}")
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
