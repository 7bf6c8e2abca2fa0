"""The archive an image packed itself is checked before it is served as it is.

An image that writes its own ``ARCHIVE_FILENAME`` (Forklift's does) is served that file
rather than a new archive. The image is hostile by assumption, so every member is read
first, in the isolated worker: when all are safe for an ordinary ``tar xzf`` (inside the
tree, not through a symlink, no hardlinks, devices, FIFOs, setuid or setgid, no symlink out
of the tree) the file is served unchanged; otherwise it is unpacked through the same safe
path as a pod's stream and packed again without those members. What cannot be read as a
tar.gz at all is not served bare: the tree is packed around it, as with any other file.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from must_gather_api.archive import background, isolated, packing

log = logging.getLogger(__name__)

SECONDS = 30 * 60.0  # for reading the image's archive, and again for unpacking it


@dataclass(frozen=True)
class Served:
    packed: packing.Packed
    note: str  # what the gathering's output should say; "" when served as it is


async def serve_own(
    own: Path,
    tree: Path,
    destination: Path,
    *,
    partial: Path,
    scratch: Path,
    limit: int | None,
    max_entries: int | None,
) -> Served:
    """Makes the archive at ``destination`` from ``own``, the image's archive in ``tree``;
    ``scratch`` is a directory it may use (and removes). ArchiveTooLarge past ``limit``."""
    name = own.name
    try:
        verdict = await isolated.run(
            {"operation": "check", "source": str(own), "gzip": True, "max_entries": max_entries},
            deadline=time.monotonic() + SECONDS,
        )
    except isolated.WorkerFailed as e:
        packed = await background.run(packing.pack, tree, destination, partial=partial, limit=limit)
        return Served(
            packed,
            f"the image's own {name} could not be checked ({e.message}); "
            "it is served as a file inside a new archive",
        )
    if not verdict["unsafe"]:
        packed = await background.run(packing.adopt, own, destination, partial=partial, limit=limit)
        return Served(packed, "")
    shown = "; ".join(verdict["shown"])
    more = f" and {verdict['unsafe'] - len(verdict['shown'])} more" if verdict["unsafe"] > 5 else ""
    note = (
        f"the image's own {name} held {verdict['unsafe']} unsafe entries ({shown}{more}); "
        "it was re-packed without them"
    )
    try:
        await isolated.run(
            {
                "operation": "extract",
                "source": str(own),
                "gzip": True,
                "root": str(scratch),
                "limit": limit,
                "max_entries": max_entries,
                "strict": True,
            },
            deadline=time.monotonic() + SECONDS,
        )
        packed = await background.run(
            packing.pack, scratch, destination, partial=partial, limit=limit, top=""
        )
    except isolated.WorkerFailed as e:
        if e.kind == "too-large":
            raise packing.ArchiveTooLarge(e.message) from e
        log.warning("the image's archive could not be re-packed: %s", e.message)
        packed = await background.run(packing.pack, tree, destination, partial=partial, limit=limit)
        note = (
            f"the image's own {name} held unsafe entries and could not be re-packed "
            f"({e.message}); it is served as a file inside a new archive"
        )
    finally:
        await background.run(shutil.rmtree, scratch, ignore_errors=True)
    return Served(packed, note)
