"""Unpacking a pod's tar stream into the work directory, trusting nothing in it.

The stream is the copy container's ``tar``: the image's own, so hostile by assumption.
The unpacking itself (``archive.unpacking``: no member outside the tree or through a
link, no hardlinks, devices or FIFOs, bounded bytes and entries) runs in the isolated
archive worker, which the gathering's deadline and a memory cap stop; here its answer
becomes the gathering's errors.
"""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path

from must_gather_api.archive import isolated
from must_gather_api.archive.unpacking import Extracted
from must_gather_api.executors.kubernetes.errors import CopyFailed, GatherError, TooLarge


async def extract(
    archive: Path,
    root: Path,
    *,
    limit: int | None,
    used: int = 0,
    max_entries: int | None,
    deadline: float,
) -> Extracted:
    """Unpacks ``archive`` (a tar file) under ``root``; TooLarge past ``limit`` bytes
    (counting ``used``) or ``max_entries`` entries, CopyFailed when it is not valid tar."""
    request = {
        "operation": "extract",
        "source": str(archive),
        "root": str(root),
        "limit": limit,
        "used": used,
        "max_entries": max_entries,
    }
    try:
        result = await isolated.run(request, deadline=deadline)
    except isolated.WorkerFailed as e:
        if e.kind == "too-large":
            raise TooLarge(e.message) from e
        if e.kind == "too-many-entries":
            raise TooLarge(f"{e.message}, more than MAX_ARCHIVE_ENTRIES allows") from e
        if e.kind == "not-tar":
            raise CopyFailed(f"the tar stream is not valid: {e.message}") from e
        raise GatherError(f"the data could not be unpacked: {e.message}") from e
    return Extracted(**result)


def data_size(root: Path) -> int:
    """Blocking: bytes in the regular files under ``root`` (links not followed)."""
    total = 0
    for directory, _dirs, files in os.walk(root):
        for name in files:
            info = os.lstat(posixpath.join(directory, name))
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
    return total
