"""Reading every byte of an archive, to prove that redaction left nothing behind."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
from collections.abc import Callable, Iterable

_INFLATE: dict[str, Callable[[bytes], bytes]] = {
    ".gz": gzip.decompress,
    ".bz2": bz2.decompress,
    ".xz": lzma.decompress,
}


def every_member(archive: bytes) -> dict[str, bytes]:
    """Each member's name and bytes (a symlink's target), compressed members decompressed."""
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
        for member in tar:
            content = tar.extractfile(member) if member.isreg() else None
            data = content.read() if content is not None else member.linkname.encode()
            for suffix, inflate in _INFLATE.items():
                if member.name.endswith(suffix):
                    data = inflate(data)
            found[member.name] = data
    return found


def leaks(members: dict[str, bytes], secrets: Iterable[str | bytes]) -> list[tuple[str, bytes]]:
    """(member, secret) for every secret found in a member's name or bytes."""
    wanted = [s.encode() if isinstance(s, str) else s for s in secrets]
    return [
        (name, secret)
        for name, data in members.items()
        for secret in wanted
        if secret in name.encode() or secret in data
    ]
