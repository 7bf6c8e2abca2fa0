"""An archive's index written to its file member by member, as the archive is packed.

``index.IndexBuilder`` keeps every member until the end (about 300 bytes each, so a
million files cost 300 MB), because a later member of a name replaces an earlier one.
The one-pass packer never writes a name twice (that is its ``Clash``), so its members can
go to disk as they come: each one is appended to a spool beside the index, and ``build``
writes the same file ``index.save`` writes (which ``index.load`` reads), atomically.
Hard links are never written by that packer, so none is resolved here.
Blocking; use it as a context manager: the spool is removed whatever happens.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TextIO

from must_gather_api.archive.index import FORMAT, ArchiveIndex, clean_name, member_of
from must_gather_api.archive.seekable import Checkpoint

_COPY = 1 << 20


class SpooledIndex:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._spool = path.with_name(path.name + ".members")
        self._partial = path.with_name(path.name + ".partial")
        self._file: TextIO | None = None
        self._separator = ""

    def __enter__(self) -> SpooledIndex:
        self._file = self._spool.open("w", encoding="utf-8")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()
        self._spool.unlink(missing_ok=True)
        self._partial.unlink(missing_ok=True)

    def add(self, info: tarfile.TarInfo) -> None:
        """A member whose ``offset_data`` is set, in archive order."""
        assert self._file is not None, "use it as a context manager"
        path = clean_name(info.name)
        member = member_of(path, info, {}) if path is not None else None
        if member is None:
            return
        fields = [member.path, member.type, member.size, member.mtime, member.offset]
        self._file.write(self._separator + json.dumps([*fields, member.target]))
        self._separator = ","

    def build(self, checkpoints: Iterable[Checkpoint], archive: Path) -> ArchiveIndex | None:
        """Writes the index file; None: the members are on disk, not in memory."""
        assert self._file is not None, "use it as a context manager"
        self._file.close()
        status = archive.stat()
        head = json.dumps(
            {
                "format": FORMAT,
                "archive_size": status.st_size,
                "archive_mtime_ns": status.st_mtime_ns,
                "checkpoints": [[c.compressed, c.uncompressed] for c in checkpoints],
            },
            separators=(",", ":"),
        )
        with self._partial.open("w", encoding="utf-8") as out:
            out.write(head[:-1] + ',"members":[')
            with self._spool.open(encoding="utf-8") as spooled:
                shutil.copyfileobj(spooled, out, _COPY)
            out.write("]}")
        os.replace(self._partial, self._path)
        return None
