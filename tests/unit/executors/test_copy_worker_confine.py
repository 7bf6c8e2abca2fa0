"""The copy worker's kernel caps: past them a hostile stream gets errors the copy reports,
not a worker killed by a signal or a volume filled."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from must_gather_api.executors.kubernetes import copy_wire
from must_gather_api.executors.kubernetes.exec_socket import Endpoint

pytestmark = pytest.mark.timeout(60)

# Runs in a process of its own: the caps are for life, and SCHED_IDLE with them.
PROBE = """
import errno, os, sys
from must_gather_api.executors.kubernetes import copy_wire, copy_worker
request = copy_wire.CopyRequest.decode(sys.stdin.buffer.read())
copy_worker._confine(request)
with open(request.destination, "wb", buffering=0) as file:
    file.write(b"x" * request.limit)
    try:
        file.write(b"x")
    except OSError as e:
        print("write past the limit:", errno.errorcode[e.errno])
try:
    held = bytearray(copy_worker.MEMORY_BYTES)
except MemoryError:
    print("allocation past the cap: MemoryError")
"""


def request(destination: Path, limit: int) -> bytes:
    return copy_wire.CopyRequest(
        endpoint=Endpoint(host="https://127.0.0.1:9", request_timeout=1.0),
        remaining=10.0,
        namespace="ns",
        pod="pod-1",
        container="copy",
        source_dir="/must-gather/",
        destination=str(destination),
        limit=limit,
        max_entries=None,
        max_attempts=1,
        parent=os.getpid(),
    ).encode()


def test_writes_past_the_limit_and_memory_past_the_cap_fail_as_errors(tmp_path: Path) -> None:
    destination = tmp_path / "copy.tar"
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        input=request(destination, 4096),
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()  # not killed by SIGXFSZ
    assert done.stdout.decode().splitlines() == [
        "write past the limit: EFBIG",
        "allocation past the cap: MemoryError",
    ]
    assert destination.stat().st_size == 4096
