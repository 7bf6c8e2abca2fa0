"""Running every analyzer over an archive, and the summary they make together.

To add an analyzer: a module in this package with ``analyze(files[, now]) -> list[Finding]``
(a pure function of the archive's files), its tests in `tests/unit/analysis/`, and one
line in ``ANALYZERS``; docs/analysis.md says more.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from must_gather_api.analysis import (
    certificates,
    cluster_version,
    events,
    forklift,
    nodes,
    operators,
    pods,
    products,
    storage,
)
from must_gather_api.analysis.model import Finding, Summary, merged
from must_gather_api.analysis.source import ArchiveFiles, over_archive
from must_gather_api.archive.index import ArchiveIndex

log = logging.getLogger(__name__)

Analyzer = Callable[[ArchiveFiles, datetime], list[Finding]]

ANALYZERS: dict[str, Analyzer] = {
    products.AREA: lambda files, _now: products.analyze(files),
    cluster_version.AREA: lambda files, _now: cluster_version.analyze(files),
    operators.AREA: lambda files, _now: operators.analyze(files),
    nodes.AREA: lambda files, _now: nodes.analyze(files),
    pods.AREA: pods.analyze,
    events.AREA: lambda files, _now: events.analyze(files),
    certificates.AREA: certificates.analyze,
    forklift.AREA: lambda files, _now: forklift.analyze(files),
    storage.AREA: lambda files, _now: storage.analyze(files),
}


def analyze(files: ArchiveFiles, now: datetime) -> Summary:
    """Every analyzer's findings; ``now`` is when the data was gathered (for expiry, age).

    An analyzer that fails (a bug, or data shaped as no one expected) is named in the
    summary's errors; the others' findings stand.
    """
    found: list[Finding] = []
    failed: list[str] = []
    for area, analyzer in ANALYZERS.items():
        try:
            found += analyzer(files, now)
        except Exception:
            log.exception("the %s analyzer failed", area)
            failed.append(f"the {area} analyzer could not finish")
    return Summary(
        products=tuple(products.products(files)),
        findings=merged(found),
        analyzed_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        errors=tuple(failed),
    )


def analyze_archive(archive: Path, index: ArchiveIndex, now: datetime) -> Summary:
    """Blocking: reads the members the analyzers ask for, each once, from their offsets."""
    with archive.open("rb") as file:
        return analyze(over_archive(file, index), now)
