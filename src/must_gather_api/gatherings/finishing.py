"""The end of every gathering: pack what was gathered, record how it went.

Whatever data was collected is archived, even when the gathering failed: on a failing
cluster the point is to get as much as possible.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from must_gather_api.archive import (
    background,
    index,
    isolated,
    onepass_job,
    packing,
    raw_copies,
    vetting,
)
from must_gather_api.archive.naming import archive_name
from must_gather_api.archive.onepass import Source
from must_gather_api.errors import FailureKind
from must_gather_api.executors.base import Failure, Outcome
from must_gather_api.executors.kubernetes.console import status_line
from must_gather_api.gatherings import redacting, summaries
from must_gather_api.gatherings.layout import Layout
from must_gather_api.gatherings.outputs import OutputLog
from must_gather_api.gatherings.records import Gathering, Status
from must_gather_api.gatherings.store import GatheringStore, now
from must_gather_api.reasons import public_reason
from must_gather_api.redaction import DEFAULT_CONFIG, RedactionConfig, RedactionReport

log = logging.getLogger(__name__)

NO_DATA = "the gathering produced no data"
# A backstop, not a budget: the archive worker's deadline (and CPU cap) for one archive.
PACKING_SECONDS = 4 * 3600.0


def _has_data(tree: Path) -> bool:
    return tree.is_dir() and any(tree.iterdir())


@dataclass(frozen=True)
class Redaction:
    config: RedactionConfig
    keep_original: bool = False


@dataclass(frozen=True)
class Made:
    packed: packing.Packed
    report: RedactionReport | None = None
    indexed: bool = False  # its index is already saved beside it


async def _make_archive(
    layout: Layout,
    gathering_id: int,
    output: OutputLog,
    *,
    filename: str,
    limit: int | None,
    max_entries: int | None,
    redaction: Redaction | None,
) -> Made | None:
    tree = layout.work_dir(gathering_id)
    copies = await asyncio.to_thread(raw_copies.recorded, layout.directory(gathering_id))
    if not copies and not await asyncio.to_thread(_has_data, tree):
        return None
    deadline = time.monotonic() + PACKING_SECONDS
    made: Made | None = None
    if copies:
        made = await _one_pass(
            layout,
            gathering_id,
            copies,
            output,
            filename=filename,
            limit=limit,
            max_entries=max_entries,
            redaction=redaction,
            deadline=deadline,
        )
    if made is None:  # no raw copies, or they held the image's own archive
        made = await _from_tree(
            layout, gathering_id, output, filename, limit, max_entries, redaction, deadline
        )
    if not made.indexed:
        await background.run(_write_index, layout, gathering_id, made.packed)
    return made


async def _one_pass(
    layout: Layout,
    gathering_id: int,
    copies: list[raw_copies.RawCopy],
    output: OutputLog,
    *,
    filename: str,
    limit: int | None,
    max_entries: int | None,
    redaction: Redaction | None,
    deadline: float,
) -> Made | None:
    """The archive straight from the pods' raw copies and the small tree of the service's
    own files (redacted from that archive when asked); None when the copies held the
    image's own archive, then unpacked into the tree to be served from there."""
    target = layout.original_archive(gathering_id) if redaction else layout.archive(gathering_id)
    built = await onepass_job.build_gathering(
        layout.work_dir(gathering_id),
        [Source(copy.tar, copy.folder) for copy in copies],
        target,
        partial=layout.partial_archive(gathering_id),
        index_path=layout.archive_index(gathering_id),
        limit=limit,
        max_entries=max_entries,
        deadline=deadline,
        own_archive=filename,
    )
    for copy, extracted in zip(copies, built.extracted, strict=True):
        output.line(status_line(f"downloaded {extracted.summary()}", source=copy.pod))
    if isinstance(built, onepass_job.Unpacked):
        return None
    if redaction is None:
        return Made(built.packed, indexed=True)
    # The index described the un-redacted archive; the redacted one gets its own.
    await asyncio.to_thread(layout.archive_index(gathering_id).unlink, missing_ok=True)
    return await _redacted_original(layout, gathering_id, redaction, limit=limit)


async def _from_tree(
    layout: Layout,
    gathering_id: int,
    output: OutputLog,
    filename: str,
    limit: int | None,
    max_entries: int | None,
    redaction: Redaction | None,
    deadline: float,
) -> Made:
    """The archive of the work tree: the image's own one, or the tree packed (in the archive
    worker, as the one pass is), or redacted."""
    tree = layout.work_dir(gathering_id)
    destination = layout.archive(gathering_id)
    partial = layout.partial_archive(gathering_id)
    own = await background.run(packing.find_packed_archive, tree, filename)
    if own is not None:
        return await _served_own(layout, gathering_id, own, output, limit, max_entries, redaction)
    if redaction is None:
        packed = await onepass_job.pack(
            tree,
            destination,
            partial=partial,
            index_path=layout.archive_index(gathering_id),
            limit=limit,
            deadline=deadline,
        )
        return Made(packed, indexed=True)
    if redaction.keep_original:
        original = layout.original_archive(gathering_id)
        await onepass_job.pack(
            tree, original, partial=partial, index_path=None, limit=limit, deadline=deadline
        )
    return await _redacted(layout, gathering_id, tree, redaction, limit=limit)


async def _served_own(
    layout: Layout,
    gathering_id: int,
    own: Path,
    output: OutputLog,
    limit: int | None,
    max_entries: int | None,
    redaction: Redaction | None,
) -> Made:
    """The image's own archive, vetted; redacted from the vetted copy when asked."""
    destination = layout.archive(gathering_id)
    served = await vetting.serve_own(
        own,
        layout.work_dir(gathering_id),
        destination,
        partial=layout.partial_archive(gathering_id),
        scratch=layout.repack_dir(gathering_id),
        limit=limit,
        max_entries=max_entries,
    )
    if served.note:
        output.line(f"[must-gather-api] {served.note}")
    if redaction is None:
        return Made(served.packed)
    # Only the vetted archive is read again, to be re-packed redacted.
    await asyncio.to_thread(os.replace, destination, layout.original_archive(gathering_id))
    return await _redacted_original(layout, gathering_id, redaction, limit=limit)


async def _redacted_original(
    layout: Layout, gathering_id: int, redaction: Redaction, *, limit: int | None
) -> Made:
    """The archive redacted from the original beside it, which stays only when asked."""
    original = layout.original_archive(gathering_id)
    try:
        return await _redacted(layout, gathering_id, original, redaction, limit=limit)
    finally:
        if not redaction.keep_original:
            await asyncio.to_thread(original.unlink, missing_ok=True)


async def _redacted(
    layout: Layout, gathering_id: int, source: Path, redaction: Redaction, *, limit: int | None
) -> Made:
    redacted = await background.run(
        redacting.redact,
        source,
        layout.archive(gathering_id),
        partial=layout.partial_archive(gathering_id),
        limit=limit,
        config=redaction.config,
        report=layout.redaction_report(gathering_id),
    )
    return Made(redacted.packed, redacted.report)


def _write_index(layout: Layout, gathering_id: int, packed: packing.Packed) -> None:
    """Beside the archive; an image's own archive is read once to build it. An archive that
    cannot be indexed is still served whole by /data (its members just cannot be browsed)."""
    try:
        built = packed.index or index.scan(layout.archive(gathering_id))
        index.save(built, layout.archive_index(gathering_id))
    except (index.IndexUnreadable, OSError) as e:
        # No index now (a full disk, say): it is built when the archive is first browsed.
        log.warning("gathering %d: no index of the archive: %s", gathering_id, e)


def _disk_error(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return "the archive could not be written: no space left on the data volume"
    return f"the archive could not be written: {error.strerror or error}"


def _worker_error(error: isolated.WorkerFailed) -> str:
    """The archive worker's failure in the words ``_disk_error`` uses for the same thing."""
    if error.kind == "disk":
        if error.message == os.strerror(errno.ENOSPC):
            return "the archive could not be written: no space left on the data volume"
        return f"the archive could not be written: {error.message}"
    return f"the archive could not be built: {error.message}"


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
    redaction: RedactionConfig | None = None,
) -> tuple[Gathering, Outcome]:
    """The record as it ends, and the outcome with the archive's own failure, if any (only
    when the gathering itself did not fail: its reason is the one worth reading)."""
    made: Made | None = None
    options = gathering.request
    # A gathering accepted with redact is redacted whatever the settings are now.
    redacted = (
        Redaction(redaction or DEFAULT_CONFIG, keep_original=options.keep_original)
        if options.redact
        else None
    )
    try:
        made = await _make_archive(
            layout,
            gathering.id,
            output,
            filename=archive_filename,
            limit=max_archive_bytes,
            max_entries=max_archive_entries,
            redaction=redacted,
        )
    except packing.ArchiveTooLarge as e:
        outcome = _unless_failed(outcome, Failure.of(e))
    except index.IndexUnreadable as e:
        # Never served unredacted: a redacted gathering without its redaction has no archive.
        log.warning("gathering %d: %s", gathering.id, e)
        outcome = _unless_failed(
            outcome,
            Failure(
                FailureKind.STORAGE,
                "the image's archive could not be redacted: it is not a readable tar",
            ),
        )
    except OSError as e:
        log.warning("gathering %d: %s", gathering.id, e)
        outcome = _unless_failed(outcome, Failure(FailureKind.STORAGE, _disk_error(e)))
    except isolated.WorkerFailed as e:
        log.warning("gathering %d: the archive worker failed (%s): %s", gathering.id, e.kind, e)
        outcome = _unless_failed(outcome, Failure(FailureKind.STORAGE, _worker_error(e)))
    finally:
        await background.run(layout.remove_work, gathering.id)
    packed = made.packed if made else None
    if made is None or packed is None:
        await asyncio.to_thread(layout.remove_archive, gathering.id)
        outcome = _unless_failed(outcome, Failure(FailureKind.NO_DATA, NO_DATA))
        reason = outcome.error_reason
        output.line(f"[must-gather-api] no archive: {reason}")
    else:
        if made.report is not None:
            output.line(
                f"[must-gather-api] redacted: {made.report.replaced} replacements, "
                f"{len(made.report.omissions)} files left out (the report: "
                f"GET /must-gather/{gathering.id}/redaction-report, admins only)"
            )
        output.line(f"[must-gather-api] archive ready: {packed.size} bytes, sha256 {packed.sha256}")
        await _analyze(layout, gathering.id, output)
    reason = outcome.error_reason
    if reason:
        output.line(f"[must-gather-api] gathering ended with an error: {reason}")
    # A reason may quote the pod's own last line: tokens in it are masked as in the output.
    reason = public_reason(output.masked(reason), hidden=[layout.data_dir])
    status = Status.ERROR if reason else Status.COMPLETED
    # A client that sees the status change reads the whole output at once: write it first.
    await output.flush()
    record = await store.update(
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
    return record, outcome


def _unless_failed(outcome: Outcome, failure: Failure) -> Outcome:
    return outcome if not outcome.succeeded else outcome.with_failure(failure)
