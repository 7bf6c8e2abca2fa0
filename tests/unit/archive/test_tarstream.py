"""The forward-only tar reader: what tarfile writes reads back the same; hostile headers
(a negative size, a bad checksum, endless extended headers) are refused, never looped on."""

from __future__ import annotations

import io
import tarfile

import pytest

from must_gather_api.archive.tarstream import (
    TarCorrupt,
    TarReader,
    TarTruncated,
    TooManyEntries,
)
from support.hostile import hostile_tar

pytestmark = pytest.mark.timeout(20)


def written(format_: int, members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=format_) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
        if format_ != tarfile.USTAR_FORMAT:  # ustar has no room for long link names
            link = tarfile.TarInfo("long/" + "l" * 150)
            link.type = tarfile.SYMTYPE
            link.linkname = "t" * 120
            tar.addfile(link)
    return buffer.getvalue()


@pytest.mark.parametrize("format_", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
def test_what_tarfile_writes_reads_back(format_: int) -> None:
    long_name = "d/" * 60 + "file.txt"  # longer than 100: pax, GNU L or the ustar prefix
    members = {"a.txt": b"alpha", long_name: b"x" * 1000, "ünï.txt": b""}
    if format_ == tarfile.USTAR_FORMAT:
        members.pop("ünï.txt")
    data = written(format_, members)
    reader = TarReader(io.BytesIO(data))
    seen = {}
    for member in reader:
        if member.kind == "file":
            seen[member.name] = b"".join(reader.chunks())
        else:
            assert member.kind == "symlink"
            assert member.linkname == "t" * 120
    assert seen == members
    assert reader.offset <= len(data)


def test_a_negative_pax_size_is_refused_at_once() -> None:
    stream = hostile_tar()
    assert len(stream) < 10 * 1024
    names: list[str] = []
    with pytest.raises(TarCorrupt, match="negative"):
        names.extend(member.name for member in TarReader(io.BytesIO(stream)))
    assert names == ["./", "./first.txt"]


def test_a_negative_base_256_size_is_refused() -> None:
    info = tarfile.TarInfo("x")
    header = bytearray(info.tobuf(format=tarfile.GNU_FORMAT))
    header[124:136] = b"\xff" * 12
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    with pytest.raises(TarCorrupt, match="negative"):
        list(TarReader(io.BytesIO(bytes(header) + b"\0" * 1024)))


def test_a_bad_checksum_and_endless_extended_headers_are_corrupt() -> None:
    good = written(tarfile.PAX_FORMAT, {"a": b"a"})
    broken = bytearray(good)
    broken[0] ^= 1
    with pytest.raises(TarCorrupt, match="checksum"):
        list(TarReader(io.BytesIO(bytes(broken))))
    pax = tarfile.TarInfo("p")
    pax.type = tarfile.XHDTYPE
    pax.size = 0
    endless = pax.tobuf(format=tarfile.USTAR_FORMAT) * 100
    with pytest.raises(TarCorrupt, match="extended headers"):
        list(TarReader(io.BytesIO(endless)))


def test_cut_streams_and_the_entry_cap() -> None:
    data = written(tarfile.PAX_FORMAT, {f"f{i}": b"x" * 700 for i in range(5)})
    with pytest.raises(TarTruncated):
        list(TarReader(io.BytesIO(data[:1536])))
    with pytest.raises(TarTruncated):
        list(TarReader(io.BytesIO(data[: len(data) - len(data) % 512 - 10240 + 512])))
    with pytest.raises(TooManyEntries):
        list(TarReader(io.BytesIO(data), max_entries=3))
    assert len(list(TarReader(io.BytesIO(data), max_entries=6))) == 6
