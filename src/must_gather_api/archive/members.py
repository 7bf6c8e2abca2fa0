"""What becomes of each member of a tar stream nothing vouches for: the rules that unpacking
(``unpacking.extract``, into a directory) and the one-pass packer (``onepass``, straight
into the served archive) share, so the two can never disagree on what is kept.

A member is kept under a clean relative name, or skipped with a reason: an absolute name or
one with ``..``, a member under a symlink or a file, a hardlink, device or FIFO, and (when
strict) a symlink out of the tree. Files count against the byte limit before any of their
data is written. Whether a parent is a symlink or a file is the caller's to answer: the
unpacker asks the disk, the one-pass packer its own record of what it wrote.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from must_gather_api.archive.tarstream import Member, TarError

SHOWN = 5
KEPT_KINDS = ("directory", "file", "symlink")


class TooLarge(TarError):
    """The members' data is larger than the limit."""


@dataclass
class Extracted:
    """What was kept of one stream, in counts (nothing is kept per member)."""

    files: int = 0
    directories: int = 0
    links: int = 0
    bytes: int = 0
    skipped: int = 0
    shown: list[str] = field(default_factory=list)  # the first SHOWN skipped, with why

    def skip(self, name: str, why: str) -> None:
        self.skipped += 1
        if len(self.shown) < SHOWN:
            self.shown.append(show(name, why))

    def kept(self, member: Member) -> None:
        if member.kind == "directory":
            self.directories += 1
        elif member.kind == "file":
            self.files += 1
            self.bytes += member.size
        else:
            self.links += 1

    def summary(self) -> str:
        text = (
            f"{self.files} files, {self.directories} directories, {self.links} symlinks, "
            f"{self.bytes} bytes"
        )
        if self.skipped:
            more = f" and {self.skipped - len(self.shown)} more" if self.skipped > SHOWN else ""
            text += f"; skipped {self.skipped} unsafe entries ({'; '.join(self.shown)}{more})"
        return text

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def show(name: str, why: str) -> str:
    printable = name.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
    return f"{printable!r}: {why}"


def clean_name(name: str) -> str | None:
    """The member's relative path, or None when it is unsafe or the root itself."""
    if name.startswith("/"):
        return None
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def leaves_tree(relative: str, linkname: str) -> bool:
    """Whether the symlink ``relative`` -> ``linkname`` points outside the tree."""
    if linkname.startswith("/"):
        return True
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(relative), linkname))
    return resolved == ".." or resolved.startswith("../")


class Rules:
    """Decides each member of one stream in turn; ``result`` counts what was decided."""

    def __init__(self, *, limit: int | None, used: int = 0, strict: bool = False) -> None:
        self._limit = limit
        self._used = used
        self._strict = strict
        self.result = Extracted()

    def place(self, member: Member, *, blocked: Callable[[str], bool]) -> str | None:
        """The member's path relative to the tree when it is to be written, None when it is
        skipped. ``blocked(relative)``: whether a parent of ``relative`` in the tree as it
        stands is a symlink or not a directory. TooLarge when a file passes the limit."""
        relative = clean_name(member.name)
        if relative is None:
            if member.name not in (".", "./", ""):
                self.result.skip(member.name, "absolute or outside the tree")
            return None
        if blocked(relative):
            self.result.skip(member.name, "inside a symlink or a file")
            return None
        if member.kind not in KEPT_KINDS:
            self.result.skip(member.name, f"a {member.kind}")
            return None
        if member.kind == "symlink" and self._strict and leaves_tree(relative, member.linkname):
            self.result.skip(member.name, "a symlink out of the tree")
            return None
        limit = self._limit
        if member.kind == "file" and limit is not None:
            self._check_room(member.size, limit)
        return relative

    def _check_room(self, size: int, limit: int) -> None:
        if self._used + self.result.bytes + size > limit:
            raise TooLarge(f"the gathered data is larger than MAX_ARCHIVE_BYTES ({limit} bytes)")
