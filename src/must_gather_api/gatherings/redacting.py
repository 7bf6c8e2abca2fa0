"""A redacted archive: packed through a ``Redactor``, its report written beside it.

The gathered tree is packed once, every member cleaned on its way in; an archive the
image packed itself is re-packed the same way, member by member. The report maps every
replacement back to the real value, so it is written with mode 0600 beside the archive,
never inside it. The CLI's ``redact`` uses it on a local archive or directory.
All functions here block: call them off the event loop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from must_gather_api.archive import packing, repacking
from must_gather_api.redaction import RedactionConfig, RedactionReport, Redactor, domains


@dataclass(frozen=True)
class Redacted:
    packed: packing.Packed
    report: RedactionReport


def redact(
    source: Path,
    destination: Path,
    *,
    partial: Path,
    limit: int | None,
    config: RedactionConfig,
    report: Path,
    top: str = "must-gather",
) -> Redacted:
    """``source`` (a gathered tree, or an archive: tar, tar.gz, ...) packed redacted at
    ``destination``, its report at ``report``. A tree goes under ``top``; an archive keeps
    its own top directory (or gets ``top`` when it has none)."""
    if source.is_dir():
        redactor = Redactor(config, cluster_domains=domains.detect_in_tree(source))
        packed = packing.pack(
            source, destination, partial=partial, limit=limit, top=top, transform=redactor
        )
    else:
        surveyed = repacking.survey(source, wanted=domains.is_source)
        redactor = Redactor(config, cluster_domains=domains.detect(surveyed.openers()))
        packed = repacking.repack(
            source,
            surveyed,
            destination,
            partial=partial,
            limit=limit,
            transform=redactor,
            top=top,
        )
    made = redactor.report()
    write_private(report, made.to_yaml().encode())
    return Redacted(packed=packed, report=made)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` readable by the owner only, replacing ``path`` whole."""
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)
