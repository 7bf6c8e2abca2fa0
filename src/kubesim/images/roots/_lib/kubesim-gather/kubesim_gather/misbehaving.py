"""The gather scripts of the images that misbehave on purpose (kubesim.local/...)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from types import FrameType

from kubesim_gather.container import must_gather_dir, say, warn, write_version, write_yaml

PRODUCT = "kubesim/misbehaving-must-gather"
VERSION = "0.1.0"
MIB = 1 << 20
DEFAULT_OUTPUT_BYTES = 100 * MIB
FILE_BYTES = 32 * MIB
BLOCK = MIB


def fails_halfway_main() -> int:
    """Writes part of a gathering, then fails the way a crashing script does."""
    out = must_gather_dir()
    write_version(PRODUCT, VERSION)
    say("[fails-halfway] gathering cluster-scoped resources...")
    for index in range(3):
        write_yaml(
            out / "cluster-scoped-resources" / "core" / "nodes" / f"node-{index}.yaml",
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"node-{index}"}},
        )
    (out / "partial.log").write_text("gathering started\nnodes written\n", encoding="utf-8")
    say("[fails-halfway] gathering namespaces...")
    warn("error: simulated failure half-way through the gathering")
    return 1


def never_ends_main() -> int:
    """Gathers forever, saying so every HEARTBEAT_SECONDS; SIGTERM ends it (exit 143)."""
    write_version(PRODUCT, VERSION)
    interval = float(os.environ.get("HEARTBEAT_SECONDS") or "5")
    stop = threading.Event()

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    say("[never-ends] gathering started; it never finishes")
    beats = 0
    while not stop.wait(interval):
        beats += 1
        say(f"[never-ends] still gathering ({beats})")
    say("[never-ends] received SIGTERM, exiting")
    return 128 + signal.SIGTERM


def _text_block(index: int) -> bytes:
    line = f"line {index:08d}: must-gather sample output, compressible text\n".encode()
    return (line * (BLOCK // len(line) + 1))[:BLOCK]


def large_output_main() -> int:
    """Writes OUTPUT_BYTES (default 100 MiB) in files of 32 MiB: text and random blocks."""
    out = must_gather_dir()
    write_version(PRODUCT, VERSION)
    raw = os.environ.get("OUTPUT_BYTES") or str(DEFAULT_OUTPUT_BYTES)
    try:
        total = int(raw)
    except ValueError:
        warn(f"error: OUTPUT_BYTES must be a number of bytes, not {raw!r}")
        return 1
    folder = out / "large"
    folder.mkdir(parents=True, exist_ok=True)
    say(f"[large-output] writing {total} bytes")
    written, part, block_index = 0, 0, 0
    while written < total:
        target = folder / f"part-{part:04d}.bin"
        with target.open("wb") as f:
            in_file = 0
            while in_file < FILE_BYTES and written < total:
                size = min(BLOCK, FILE_BYTES - in_file, total - written)
                block = os.urandom(size) if block_index % 2 else _text_block(block_index)[:size]
                f.write(block)
                in_file += size
                written += size
                block_index += 1
        part += 1
    say(f"[large-output] wrote {written} bytes in {part} files")
    return 0


def _odd_names() -> list[str]:
    return [
        "with space.txt",
        "new\nline.txt",
        "tab\there.txt",
        "ünïcödé-名前.txt",
        "-leading-dash",
        "--checkpoint-action=exec=sh",
        "back\\slash",
        "quote'and\"double",
        "star*glob?[x]",
        "colon:name",
        "...",
        ".hidden",
        "semi;colon&amp|pipe$(x)",
        "a" * 250,
        "invalid-utf8-\udcff\udcfe",
    ]


def hostile_paths_main() -> int:
    """A tree an unpacker must be careful with; it holds no must-gather.tar.gz."""
    out = must_gather_dir()
    write_version(PRODUCT, VERSION)
    odd = out / "odd-names"
    odd.mkdir(exist_ok=True)
    for name in _odd_names():
        with open(os.path.join(os.fsencode(odd), os.fsencode(name)), "wb") as f:
            f.write(b"odd name\n")
    links = out / "links"
    links.mkdir(exist_ok=True)
    regular = links / "regular.txt"
    regular.write_text("a regular file\n", encoding="utf-8")
    _replace_link(links / "escape", "../../../../etc/passwd")
    _replace_link(links / "shadow", "/etc/shadow")
    _replace_link(links / "etc-dir", "/etc")
    hard = links / "hardlink-to-regular.txt"
    hard.unlink(missing_ok=True)
    os.link(regular, hard)
    fifo = links / "fifo"
    fifo.unlink(missing_ok=True)
    os.mkfifo(fifo)
    loop = out / "loop"
    loop.mkdir(exist_ok=True)
    _replace_link(loop / "self", ".")
    _replace_link(loop / "up", "..")
    _replace_link(loop / "ping", "pong")
    _replace_link(loop / "pong", "ping")
    say("[hostile-paths] wrote odd names, escaping symlinks, a hardlink, a FIFO and a loop")
    return 0


def _replace_link(path: Path, target: str) -> None:
    if path.is_symlink() or path.exists():
        path.unlink()
    path.symlink_to(target)


def many_files_main() -> int:
    """Writes FILE_COUNT (default 1,000,000) tiny files, a thousand to a directory."""
    out = must_gather_dir()
    write_version(PRODUCT, VERSION)
    raw = os.environ.get("FILE_COUNT") or "1000000"
    try:
        count = int(raw)
    except ValueError:
        warn(f"error: FILE_COUNT must be a number, not {raw!r}")
        return 1
    say(f"[many-files] writing {count} files")
    for index in range(count):
        folder = out / "many" / f"{index // 1000:04d}"
        if index % 1000 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{index:07d}.txt").write_bytes(b"x\n")
    say(f"[many-files] wrote {count} files")
    return 0


def sparse_file_main() -> int:
    """A sparse file claiming SPARSE_BYTES (default 1 TiB) while using no disk."""
    out = must_gather_dir()
    write_version(PRODUCT, VERSION)
    size = int(os.environ.get("SPARSE_BYTES") or str(1 << 40))
    with (out / "sparse.img").open("wb") as f:
        f.truncate(size)
    say(f"[sparse-file] wrote a sparse file of {size} bytes")
    return 0


def gzip_bomb_main() -> int:
    """must-gather.tar.gz made of gzip members of zeros: small, but BOMB_BYTES unpacked."""
    import gzip

    out = must_gather_dir()
    unpacked = int(os.environ.get("BOMB_BYTES") or str(16 << 30))
    member = gzip.compress(b"\0" * (64 * MIB), compresslevel=9)
    with (out / "must-gather.tar.gz").open("wb") as f:
        for _ in range(max(1, unpacked // (64 * MIB))):
            f.write(member)
    say(f"[gzip-bomb] wrote must-gather.tar.gz, {unpacked} bytes when unpacked")
    return 0


def _tar_header(name: str, *, size: int = 0, kind: bytes = b"0", mode: int = 0o644) -> bytes:
    """One ustar header block, its checksum right."""
    header = bytearray(512)
    header[0:100] = name.encode().ljust(100, b"\0")[:100]
    header[100:108] = b"%07o\0" % mode
    header[108:116] = b"0000000\0"
    header[116:124] = b"0000000\0"
    header[124:136] = b"%011o\0" % size
    header[136:148] = b"%011o\0" % 1700000000
    header[148:156] = b" " * 8
    header[156:157] = kind
    header[257:265] = b"ustar\x0000"
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def _pax_record(key: str, value: str) -> bytes:
    body = f" {key}={value}\n"
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length += 1
    return f"{length}{body}".encode()


def _padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 512)


def hostile_tar_stream(negative_size: int = -1536) -> bytes:
    """A small tar stream whose pax header gives a member a negative size.

    Python's tarfile takes the size as it is and steps back ``negative_size`` bytes to the
    pax header again: it never ends, and its member list grows without bound.
    """
    first = b"a file before the trap\n"
    pax = _pax_record("size", str(negative_size))
    return b"".join(
        [
            _tar_header("./", kind=b"5", mode=0o755),
            _tar_header("./first.txt", size=len(first)),
            _padded(first),
            _tar_header("./PaxHeaders/trap", size=len(pax), kind=b"x"),
            _padded(pax),
            _tar_header("./trap.txt", size=0),
            b"\0" * 1024,
        ]
    )


def hostile_tar_main() -> int:
    """The image's own ``tar`` (the copy container runs it): writes the hostile stream."""
    import sys

    sys.stdout.buffer.write(hostile_tar_stream())
    sys.stdout.buffer.flush()
    return 0


def hostile_tar_gather_main() -> int:
    """A plain little gathering; the trap is in the image's ``tar``."""
    write_version(PRODUCT, VERSION)
    (must_gather_dir() / "plain.txt").write_text("plain\n", encoding="utf-8")
    say("[hostile-tar] gathered one file; this image's tar sends a hostile stream")
    return 0


def unsafe_archive_members() -> list[tuple[str, bytes, bytes, str, int]]:
    """(name, type, data, link target, mode) of the members ``unsafe_archive_main`` packs."""
    return [
        ("must-gather/", b"5", b"", "", 0o755),
        ("must-gather/ok.txt", b"0", b"fine\n", "", 0o644),
        ("must-gather/../escaped.txt", b"0", b"out\n", "", 0o644),
        ("/var/absolute.txt", b"0", b"abs\n", "", 0o644),
        ("must-gather/setuid-shell", b"0", b"#!/bin/sh\n", "", 0o4755),
        ("must-gather/null-device", b"3", b"", "", 0o666),
        ("must-gather/etc", b"2", b"", "/etc", 0o777),
        ("must-gather/up", b"2", b"", "../..", 0o777),
        ("must-gather/up/written-through.txt", b"0", b"x\n", "", 0o644),
    ]


def unsafe_archive_bytes() -> bytes:
    """A gzip'd tar with ``..``, absolute, setuid, device and out-of-tree symlink members."""
    import gzip

    blocks = []
    for name, kind, data, link, mode in unsafe_archive_members():
        header = bytearray(_tar_header(name, size=len(data), kind=kind, mode=mode))
        if link:
            header[157:257] = link.encode().ljust(100, b"\0")
            header[148:156] = b" " * 8
            header[148:156] = b"%06o\0 " % sum(header)
        blocks += [bytes(header), _padded(data)]
    return gzip.compress(b"".join(blocks) + b"\0" * 1024)


def unsafe_archive_main() -> int:
    """The image packs its own must-gather.tar.gz, and packs it unsafely."""
    out = must_gather_dir()
    (out / "must-gather.tar.gz").write_bytes(unsafe_archive_bytes())
    say("[unsafe-archive] wrote must-gather.tar.gz with unsafe members")
    return 0
