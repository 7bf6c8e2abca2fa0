"""Unpacking a pod's tar stream into the work directory, trusting nothing in it.

Members with an absolute name or a ``..`` are skipped; symlinks are created as links and
never followed: no member is written through a directory that is a link, and a link in
the way of a file is replaced, not written through. Hardlinks, devices and FIFOs are
dropped. The total size is bounded. Blocking: run it in a thread.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from must_gather_api.executors.kubernetes.errors import TooLarge

_CHUNK = 1024 * 1024
_SHOWN = 5


@dataclass
class Extracted:
    files: int = 0
    directories: int = 0
    links: int = 0
    bytes: int = 0
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.files} files, {self.directories} directories, {self.links} symlinks, "
            f"{self.bytes} bytes"
        )
        if self.skipped:
            shown = "; ".join(self.skipped[:_SHOWN])
            more = f" and {len(self.skipped) - _SHOWN} more" if len(self.skipped) > _SHOWN else ""
            text += f"; skipped {len(self.skipped)} unsafe entries ({shown}{more})"
        return text


def _clean_name(name: str) -> str | None:
    """The member's relative path, or None when it is unsafe or the root itself."""
    if name.startswith("/"):
        return None
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


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


def _show(name: str, why: str) -> str:
    return (
        f"{name.encode('utf-8', 'backslashreplace').decode('ascii', 'backslashreplace')!r}: {why}"
    )


def extract(archive: Path, root: Path, *, limit: int | None, used: int = 0) -> Extracted:
    """Unpacks ``archive`` under ``root``; TooLarge past ``limit`` bytes (counting ``used``)."""
    result = Extracted()
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, mode="r:", errorlevel=1) as tar:
        for member in tar:
            relative = _clean_name(member.name)
            if relative is None:
                if member.name not in (".", "./", ""):
                    result.skipped.append(_show(member.name, "absolute or outside the tree"))
                continue
            if _through_link(root, relative):
                result.skipped.append(_show(member.name, "inside a symlink or a file"))
                continue
            target = root / relative
            if member.isdir():
                if os.path.lexists(target) and (target.is_symlink() or not target.is_dir()):
                    _clear(target)
                _make_parents(root, relative)
                target.mkdir(mode=0o755, exist_ok=True)
                result.directories += 1
            elif member.isreg():
                if limit is not None and used + result.bytes + member.size > limit:
                    raise TooLarge(
                        f"the gathered data is larger than MAX_ARCHIVE_BYTES ({limit} bytes)"
                    )
                _make_parents(root, relative)
                _clear(target)
                _write(tar, member, target)
                result.files += 1
                result.bytes += member.size
            elif member.issym():
                _make_parents(root, relative)
                _clear(target)
                os.symlink(member.linkname, target)
                result.links += 1
            else:
                kind = "hardlink" if member.islnk() else "device or FIFO"
                result.skipped.append(_show(member.name, f"a {kind}"))
    return result


def _write(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    source = tar.extractfile(member)
    if source is None:
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    descriptor = os.open(target, flags, 0o644)
    with source, os.fdopen(descriptor, "wb") as out:
        while chunk := source.read(_CHUNK):
            out.write(chunk)
    if member.mtime:
        os.utime(target, (member.mtime, member.mtime), follow_symlinks=False)


def data_size(root: Path) -> int:
    """Blocking: bytes in the regular files under ``root`` (links not followed)."""
    total = 0
    for directory, _dirs, files in os.walk(root):
        for name in files:
            info = os.lstat(posixpath.join(directory, name))
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
    return total
