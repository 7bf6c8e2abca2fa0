"""Reading a tar stream that nothing vouches for, one header at a time.

The reader only ever moves forward: each member costs its header block plus its data
rounded up to whole blocks, and no size can be negative, so a stream of N bytes yields at
most N / 512 members and a hostile header cannot send it back to read the same bytes
again (as a pax ``size=-1536`` does to ``tarfile``). Nothing is kept per member: the
caller sees one at a time. Extended headers (pax ``x``, GNU ``L``/``K``) are bounded in
size and in how many may precede one member; a global pax header (``g``) is checked and
otherwise ignored. Blocking: call it off the event loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

BLOCK = 512
MAX_META_BYTES = 1 << 20  # a pax header or a GNU long name larger than this is refused
MAX_META_CHAIN = 16  # extended headers in a row before one member
_CHUNK = 1 << 20
_ZERO = b"\0" * BLOCK
_KINDS = {
    b"0": "file",
    b"\0": "file",
    b"7": "file",
    b"1": "hardlink",
    b"2": "symlink",
    b"3": "device",
    b"4": "device",
    b"5": "directory",
    b"6": "fifo",
}
_META = (b"x", b"g", b"L", b"K")


class TarError(Exception):
    """The stream is not a tar archive this reader accepts; ``str(error)`` says why."""


class TarCorrupt(TarError):
    """A header is malformed or hostile (a bad checksum, a negative size, a bad pax record)."""


class TarTruncated(TarError):
    """The stream ended before its end-of-archive blocks."""


class TooManyEntries(TarError):
    """More members than allowed."""


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    kind: str  # file, directory, symlink, hardlink, device, fifo or other
    size: int  # as declared; only files and unknown kinds have that much data
    mode: int
    mtime: int
    linkname: str
    pax_keys: tuple[str, ...] = ()


def _number(field: bytes, what: str) -> int:
    if field and field[0] & 0x80:  # base-256: 0x80 positive, 0xff negative
        if field[0] == 0xFF:
            raise TarCorrupt(f"a header has a negative {what}")
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
    text = field.split(b"\0", 1)[0].strip(b" ")
    try:
        return int(text or b"0", 8)
    except ValueError:
        raise TarCorrupt(f"a header has an unreadable {what}") from None


def _checksum_ok(header: bytes) -> bool:
    stored = _number(header[148:156], "checksum")
    unsigned = sum(header[:148]) + 8 * 32 + sum(header[156:])
    signed = unsigned - 2 * sum(b for b in header[:148] + header[156:] if b > 127)
    return stored in (unsigned, signed)


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _pax(data: bytes) -> dict[str, str]:
    """``"%d %s=%s\\n"`` records; each length counts its own record, so each advances."""
    records: dict[str, str] = {}
    position = 0
    while position < len(data):
        if data[position:].strip(b"\0") == b"":
            break
        space = data.find(b" ", position)
        length_text = data[position:space] if space > position else b""
        if not length_text.isdigit():
            raise TarCorrupt("a pax header has a malformed record")
        length = int(length_text)
        end = position + length
        if length <= len(length_text) + 1 or end > len(data) or data[end - 1 : end] != b"\n":
            raise TarCorrupt("a pax header has a record of a wrong length")
        key, equals, value = data[space + 1 : end - 1].partition(b"=")
        if not equals:
            raise TarCorrupt("a pax header has a record without a value")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        position = end
    return records


def _decimal(records: dict[str, str], key: str) -> int | None:
    value = records.get(key)
    if value is None:
        return None
    whole = value.split(".", 1)[0]
    if not whole.isdigit():
        raise TarCorrupt(f"a pax header has a negative or unreadable {key}")
    return int(whole)


class TarReader:
    """Iterate for the members; ``chunks()`` gives the current member's data (optional)."""

    def __init__(self, source: BinaryIO, *, max_entries: int | None = None) -> None:
        self._source = source
        self._max_entries = max_entries
        self._seekable = source.seekable()
        self._left = 0  # data bytes of the current member not read yet
        self._padding = 0
        self.entries = 0
        self.offset = 0  # bytes consumed: it only grows

    def _read(self, size: int) -> bytes:
        data = self._source.read(size)
        self.offset += len(data)
        return data

    def _exactly(self, size: int) -> bytes:
        data = self._read(size)
        if len(data) < size:
            raise TarTruncated("the tar stream ends inside a member")
        return data

    def _skip(self, size: int) -> None:
        if size <= 0:
            return
        if self._seekable:
            self._source.seek(size, 1)
            self.offset += size
            return
        while size:
            got = len(self._read(min(size, _CHUNK)))
            if not got:
                raise TarTruncated("the tar stream ends inside a member")
            size -= got

    def chunks(self) -> Iterator[bytes]:
        while self._left:
            data = self._read(min(self._left, _CHUNK))
            if not data:
                raise TarTruncated("the tar stream ends inside a member")
            self._left -= len(data)
            yield data

    def _finish_member(self) -> None:
        self._skip(self._left + self._padding)
        self._left = self._padding = 0

    def __iter__(self) -> Iterator[Member]:
        while (member := self._next()) is not None:
            yield member

    def _next(self) -> Member | None:
        self._finish_member()
        pax: dict[str, str] = {}
        long_name = long_link = None
        for _ in range(MAX_META_CHAIN + 1):
            header = self._read(BLOCK)
            if len(header) < BLOCK:
                raise TarTruncated("the tar stream ends before its end-of-archive blocks")
            if header == _ZERO:
                following = self._read(BLOCK)
                if len(following) < BLOCK:
                    raise TarTruncated("the tar stream ends inside its end-of-archive blocks")
                if following != _ZERO:
                    raise TarCorrupt("a zero block is followed by data")
                return None
            if not _checksum_ok(header):
                raise TarCorrupt("a header's checksum does not match")
            size = _number(header[124:136], "size")
            kind_flag = header[156:157]
            if kind_flag in _META:
                if size > MAX_META_BYTES:
                    raise TarCorrupt("an extended header is too large")
                data = self._exactly(size)
                self._skip(-size % BLOCK)
                if kind_flag == b"x":
                    pax.update(_pax(data))
                elif kind_flag == b"g":
                    _pax(data)
                elif kind_flag == b"L":
                    long_name = _text(data)
                else:
                    long_link = _text(data)
                continue
            return self._member(header, kind_flag, size, pax, long_name, long_link)
        raise TarCorrupt("too many extended headers in a row")

    def _member(
        self,
        header: bytes,
        kind_flag: bytes,
        size: int,
        pax: dict[str, str],
        long_name: str | None,
        long_link: str | None,
    ) -> Member:
        self.entries += 1
        if self._max_entries is not None and self.entries > self._max_entries:
            raise TooManyEntries(f"the archive has more than {self._max_entries} entries")
        name = _text(header[0:100])
        if header[257:263] == b"ustar\x00" and header[345:346] != b"\0":
            name = f"{_text(header[345:500])}/{name}"
        name = pax.get("path") or long_name or name
        linkname = pax.get("linkpath") or long_link or _text(header[157:257])
        pax_size = _decimal(pax, "size")
        size = size if pax_size is None else pax_size
        mtime = _decimal(pax, "mtime")
        kind = _KINDS.get(kind_flag, "other")
        # As tarfile and POSIX read them: links, devices, FIFOs and directories have no
        # data whatever their size says (a verifier treats such a size as suspect).
        data = size if kind in ("file", "other") else 0
        self._left, self._padding = data, -data % BLOCK
        return Member(
            name=name,
            kind=kind,
            size=size,
            mode=_number(header[100:108], "mode") & 0o7777,
            mtime=mtime if mtime is not None else _number(header[136:148], "mtime"),
            linkname=linkname,
            pax_keys=tuple(pax),
        )
