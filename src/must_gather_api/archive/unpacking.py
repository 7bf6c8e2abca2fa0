"""Unpacking a tar stream nothing vouches for, and checking an archive before it is served.

Which members are kept is ``members.Rules``' decision, shared with the one-pass packer.
Members with an absolute name or a ``..`` are skipped; symlinks are created as links and
never followed: no member is written through a directory that is a link, and a link in
the way of a file is replaced, not written through. Hardlinks, devices and FIFOs are
dropped; files get mode 0644 and directories 0755 whatever the stream says. The total
size and the number of entries are bounded, and nothing is kept per member but counts.
Blocking, and meant to run in the isolated worker (``worker``), which a deadline and a
memory cap can stop.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from must_gather_api.archive.members import (
    SHOWN,
    Extracted,
    Rules,
    TooLarge,
    clean_name,
    leaves_tree,
    show,
)
from must_gather_api.archive.tarstream import Member, TarReader

_LINK_NAMES_KEPT = 100_000  # symlinks remembered to find members written through one
_SUSPECT_PAX = ("GNU.sparse", "hdrcharset")

__all__ = ["Extracted", "TooLarge", "Verdict", "check", "extract"]


def _through_link(root: Path, relative: str) -> bool:
    """Whether a parent of ``relative`` under ``root`` is a symlink or not a directory."""
    current = root
    for part in relative.split("/")[:-1]:
        current = current / part
        try:
            mode = current.lstat().st_mode
        except FileNotFoundError:
            return False
        if not stat.S_ISDIR(mode):
            return True
    return False


def _make_parents(root: Path, relative: str) -> None:
    current = root
    for part in relative.split("/")[:-1]:
        current = current / part
        if not os.path.lexists(current):
            current.mkdir(mode=0o755)


def _clear(target: Path) -> None:
    """Removes what is at ``target`` without following it."""
    if not os.path.lexists(target):
        return
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    else:
        target.unlink()


def extract(
    source: BinaryIO,
    root: Path,
    *,
    limit: int | None,
    used: int = 0,
    max_entries: int | None,
    strict: bool = False,
) -> Extracted:
    """Unpacks the tar stream ``source`` under ``root``; TooLarge past ``limit`` bytes
    (counting ``used``), TooManyEntries past ``max_entries``, TarError when it is not tar.
    ``strict`` also drops symlinks that point out of the tree."""
    rules = Rules(limit=limit, used=used, strict=strict)
    root.mkdir(parents=True, exist_ok=True)
    reader = TarReader(source, max_entries=max_entries)
    for member in reader:
        relative = rules.place(member, blocked=lambda name: _through_link(root, name))
        if relative is None:
            continue
        target = root / relative
        if member.kind == "directory":
            if os.path.lexists(target) and (target.is_symlink() or not target.is_dir()):
                _clear(target)
            _make_parents(root, relative)
            target.mkdir(mode=0o755, exist_ok=True)
        elif member.kind == "file":
            _make_parents(root, relative)
            _clear(target)
            _write(reader, member, target)
        else:
            _make_parents(root, relative)
            _clear(target)
            os.symlink(member.linkname, target)
        rules.result.kept(member)
    return rules.result


def _write(reader: TarReader, member: Member, target: Path) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    descriptor = os.open(target, flags, 0o644)
    with os.fdopen(descriptor, "wb") as out:
        for chunk in reader.chunks():
            out.write(chunk)
    if member.mtime:
        os.utime(target, (member.mtime, member.mtime), follow_symlinks=False)


@dataclass
class Verdict:
    """What ``check`` found: entries read, and those a careful unpacker would refuse."""

    entries: int = 0
    unsafe: int = 0
    shown: list[str] = field(default_factory=list)

    def flag(self, name: str, why: str) -> None:
        self.unsafe += 1
        if len(self.shown) < SHOWN:
            self.shown.append(show(name, why))

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _why_unsafe(member: Member, relative: str | None, links: set[str]) -> str | None:
    if relative is None:
        return None if member.name in (".", "./") else "absolute or outside the tree"
    parents = relative.split("/")[:-1]
    if any("/".join(parents[: i + 1]) in links for i in range(len(parents))):
        return "inside a symlink"
    if member.kind not in ("file", "directory", "symlink"):
        return f"a {member.kind}"
    if member.mode & (stat.S_ISUID | stat.S_ISGID):
        return "setuid or setgid"
    if member.kind != "file" and member.size:
        return f"a {member.kind} that claims data"
    if any(key.startswith(_SUSPECT_PAX) for key in member.pax_keys):
        return "a sparse or raw-bytes pax entry"
    if member.kind == "symlink" and leaves_tree(relative, member.linkname):
        return "a symlink out of the tree"
    return None


def check(source: BinaryIO, *, max_entries: int | None) -> Verdict:
    """Reads every member of the tar stream ``source`` and flags those not safe to unpack
    with an ordinary tar: outside the tree, through a symlink, a hardlink, device or FIFO,
    setuid/setgid, a symlink leaving the tree. TarError when it is not a tar archive."""
    verdict = Verdict()
    links: set[str] = set()
    reader = TarReader(source, max_entries=max_entries)
    for member in reader:
        relative = clean_name(member.name)
        why = _why_unsafe(member, relative, links)
        if why is not None:
            verdict.flag(member.name, why)
        if member.kind == "symlink" and relative is not None:
            if len(links) >= _LINK_NAMES_KEPT:
                verdict.flag(member.name, "one symlink too many to check")
            else:
                links.add(relative)
    verdict.entries = reader.entries
    return verdict
