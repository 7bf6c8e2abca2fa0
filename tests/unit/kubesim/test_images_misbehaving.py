"""The images that misbehave on purpose (kubesim.local/...)."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import tarfile
from pathlib import Path

import pytest

from kubesim.images import builtin
from kubesim.kubelet.rootfs import ServiceAccountFiles, build_container_root
from support.fakeapi import TOKEN, image_for, run_image


@pytest.mark.asyncio
async def test_fails_halfway_leaves_partial_data_and_exits_1(tmp_path: Path) -> None:
    ran = await run_image(tmp_path, builtin.FAILS_HALFWAY, "/usr/bin/gather", port=1)
    assert ran.code == 1
    assert "simulated failure" in ran.stderr
    assert (ran.out / "version").is_file()
    assert len(list((ran.out / "cluster-scoped-resources/core/nodes").iterdir())) == 3


@pytest.mark.asyncio
async def test_large_output_writes_the_asked_size_in_mixed_blocks(tmp_path: Path) -> None:
    size = 5 * (1 << 20) + 123
    ran = await run_image(
        tmp_path, builtin.LARGE_OUTPUT, "/usr/bin/gather", port=1, env={"OUTPUT_BYTES": str(size)}
    )
    assert ran.code == 0, ran.stderr
    parts = sorted((ran.out / "large").iterdir())
    assert sum(p.stat().st_size for p in parts) == size
    data = parts[0].read_bytes()
    assert data.startswith(b"line 00000000: must-gather sample output")
    assert data[1 << 20 : (1 << 20) + 64].count(b"line") == 0  # the second block is random


@pytest.mark.asyncio
async def test_large_output_rejects_a_bad_size(tmp_path: Path) -> None:
    ran = await run_image(
        tmp_path, builtin.LARGE_OUTPUT, "/usr/bin/gather", port=1, env={"OUTPUT_BYTES": "lots"}
    )
    assert ran.code == 1 and "OUTPUT_BYTES" in ran.stderr


@pytest.mark.asyncio
async def test_hostile_paths_tree(tmp_path: Path) -> None:
    ran = await run_image(tmp_path, builtin.HOSTILE_PATHS, "/usr/bin/gather", port=1)
    assert ran.code == 0, ran.stderr
    links = ran.out / "links"
    assert os.readlink(links / "escape") == "../../../../etc/passwd"
    assert os.readlink(links / "shadow") == "/etc/shadow"
    regular, hard = links / "regular.txt", links / "hardlink-to-regular.txt"
    assert regular.stat().st_ino == hard.stat().st_ino and regular.stat().st_nlink == 2
    assert stat.S_ISFIFO((links / "fifo").lstat().st_mode)
    assert os.readlink(ran.out / "loop" / "ping") == "pong"
    odd = set(os.listdir(os.fsencode(ran.out / "odd-names")))
    assert b"new\nline.txt" in odd and b"invalid-utf8-\xff\xfe" in odd
    assert not (ran.out / "must-gather.tar.gz").exists()
    # What a copy container's `tar -C /must-gather -c .` would send keeps every oddity.
    archive = tmp_path / "copy.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(ran.out, arcname=".")
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["./links/escape"].issym() and members["./links/fifo"].isfifo()
    pair = (members["./links/hardlink-to-regular.txt"], members["./links/regular.txt"])
    assert sorted(m.islnk() for m in pair) == [False, True]  # whichever tar met second


@pytest.mark.asyncio
async def test_never_ends_until_sigterm(tmp_path: Path) -> None:
    image = image_for(builtin.NEVER_ENDS)
    root, volume = tmp_path / "root", tmp_path / "volume"
    volume.mkdir()
    account = ServiceAccountFiles(token=TOKEN, ca_crt=b"", namespace="default")
    build_container_root(
        root, image_root=image.root, mounts={"/must-gather": volume}, service_account=account
    )
    env = {**os.environ, "KUBESIM_ROOT": str(root), "HEARTBEAT_SECONDS": "0.05"}
    proc = await asyncio.create_subprocess_exec(
        str(root / "usr/bin/gather"), env=env, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    try:
        seen = b""
        while b"still gathering (2)" not in seen:
            line = await asyncio.wait_for(proc.stdout.readline(), 10)
            assert line, "the gather ended by itself"
            seen += line
        proc.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(proc.stdout.read(), 10)
        code = await asyncio.wait_for(proc.wait(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert code == 143
    assert b"received SIGTERM" in rest
