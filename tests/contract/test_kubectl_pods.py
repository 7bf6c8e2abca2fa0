"""The real kubectl against kubesim's kubelet: logs, logs -f, exec and cp, over TLS."""

from __future__ import annotations

import asyncio
import filecmp
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from kubesim.cluster import Cluster
from kubesim.pytest_plugin import KubectlResult, KubectlRunner
from support.pods import NAMESPACE, container_state, gathered, must_gather_pod, wait_for_pod

pytestmark = [pytest.mark.kubectl, pytest.mark.timeout(90)]

# What a must-gather pod looks like: gather writes into the shared emptyDir, copy sleeps.
GATHER_SCRIPT = r"""
echo "gather starting"
echo "to stderr" >&2
python3 - <<'EOF'
import os, random
rng = random.Random(7)
os.makedirs("/must-gather/namespaces/default/pods", exist_ok=True)
with open("/must-gather/version", "w") as f:
    f.write("kubesim test\n")
with open("/must-gather/namespaces/default/pods/all-bytes.bin", "wb") as f:
    f.write(bytes(range(256)) * 64)
with open("/must-gather/random.bin", "wb") as f:
    f.write(rng.randbytes(3 * 1024 * 1024 + 17))
open("/must-gather/empty", "wb").close()
EOF
echo "gather done"
"""


async def create(cluster: Cluster, kubectl: KubectlRunner, pod: dict[str, Any]) -> None:
    body = json.dumps(pod).encode()
    (await kubectl(cluster, "create", "--validate=false", "-f", "-", stdin=body)).check()


def volume_dir(cluster: Cluster, pod: str) -> Path:
    return Path(cluster.kubelet.workers[(NAMESPACE, pod)].volumes["must-gather-output"])


@pytest.mark.asyncio
async def test_logs_with_container_timestamps_and_tail(
    kubesim: Cluster, kubectl: KubectlRunner
) -> None:
    await create(kubesim, kubectl, must_gather_pod("mg", GATHER_SCRIPT))
    await wait_for_pod(kubesim, "mg", gathered)

    logs = (await kubectl(kubesim, "logs", "mg", "-c", "gather")).check()
    assert logs.stdout.splitlines() == ["gather starting", "to stderr", "gather done"]

    stamped = (await kubectl(kubesim, "logs", "mg", "-c", "gather", "--timestamps")).check()
    for line in stamped.stdout.splitlines():
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z \S", line), line

    tail = (await kubectl(kubesim, "logs", "mg", "-c", "gather", "--tail=1")).check()
    assert tail.stdout == "gather done\n"


@pytest.mark.asyncio
async def test_logs_follow_streams_until_the_container_ends(
    kubesim: Cluster, kubectl: KubectlRunner
) -> None:
    script = (
        "echo first; while [ ! -e /must-gather/go ]; do sleep 0.05; done; echo second; echo third"
    )
    await create(kubesim, kubectl, must_gather_pod("follow", script))
    pod = await wait_for_pod(kubesim, "follow", lambda p: "running" in container_state(p, "gather"))
    assert "running" in container_state(pod, "gather")
    audited = len(kubesim.audit)

    async def follow_logs() -> KubectlResult:
        return await kubectl(kubesim, "logs", "-f", "follow", "-c", "gather")

    follow = asyncio.create_task(follow_logs())
    async with asyncio.timeout(20):
        while not any(r.subresource == "log" for r in kubesim.audit[audited:]):
            await asyncio.sleep(0.05)
    # The stream is open while the container still runs; releasing it ends the stream.
    assert not follow.done()
    (volume_dir(kubesim, "follow") / "go").touch()
    result = (await follow).check()
    assert result.stdout.splitlines() == ["first", "second", "third"]


@pytest.mark.asyncio
async def test_exec_passes_the_exit_code_through(kubesim: Cluster, kubectl: KubectlRunner) -> None:
    await create(kubesim, kubectl, must_gather_pod("mg", GATHER_SCRIPT))
    await wait_for_pod(kubesim, "mg", gathered)
    result = await kubectl(
        kubesim, "exec", "mg", "-c", "copy", "--", "sh", "-c", "cat /must-gather/version; exit 7"
    )
    assert result.returncode == 7, result.stderr
    assert result.stdout == "kubesim test\n"

    ok = (await kubectl(kubesim, "exec", "mg", "-c", "copy", "--", "ls", "/must-gather")).check()
    assert ok.stdout.split() == ["empty", "namespaces", "random.bin", "version"]


@pytest.mark.asyncio
async def test_cp_directory_from_pod_is_byte_identical(
    kubesim: Cluster, kubectl: KubectlRunner, tmp_path: Path
) -> None:
    await create(kubesim, kubectl, must_gather_pod("mg", GATHER_SCRIPT))
    await wait_for_pod(kubesim, "mg", gathered)
    out = tmp_path / "out"
    (await kubectl(kubesim, "cp", "-c", "copy", f"{NAMESPACE}/mg:/must-gather", str(out))).check()

    source = volume_dir(kubesim, "mg")
    compare = filecmp.dircmp(source, out)
    assert not compare.left_only and not compare.right_only
    for rel in ("version", "random.bin", "empty", "namespaces/default/pods/all-bytes.bin"):
        assert (out / rel).read_bytes() == (source / rel).read_bytes(), rel
    assert (out / "random.bin").stat().st_size == 3 * 1024 * 1024 + 17


@pytest.mark.asyncio
async def test_cp_directory_into_pod(
    kubesim: Cluster, kubectl: KubectlRunner, tmp_path: Path
) -> None:
    await create(kubesim, kubectl, must_gather_pod("mg", GATHER_SCRIPT))
    await wait_for_pod(kubesim, "mg", gathered)
    upload = tmp_path / "upload"
    (upload / "nested").mkdir(parents=True)
    (upload / "nested" / "data.bin").write_bytes(os.urandom(512 * 1024))
    (upload / "notes.txt").write_text("hello pod\n")

    (await kubectl(kubesim, "cp", "-c", "copy", str(upload), "mg:/must-gather/upload")).check()

    landed = volume_dir(kubesim, "mg") / "upload"
    assert (landed / "nested" / "data.bin").read_bytes() == (
        upload / "nested" / "data.bin"
    ).read_bytes()
    listed = await kubectl(
        kubesim, "exec", "mg", "-c", "copy", "--", "cat", "/must-gather/upload/notes.txt"
    )
    assert listed.check().stdout == "hello pod\n"


@pytest.mark.asyncio
async def test_exec_errors_are_reported_cleanly(kubesim: Cluster, kubectl: KubectlRunner) -> None:
    await create(kubesim, kubectl, must_gather_pod("mg", GATHER_SCRIPT))
    await wait_for_pod(kubesim, "mg", gathered)

    missing = await kubectl(kubesim, "exec", "mg", "-c", "nope", "--", "true")
    assert missing.returncode == 1
    assert "container nope is not valid for pod mg" in missing.stderr

    ended = await kubectl(kubesim, "exec", "mg", "-c", "gather", "--", "true")
    assert ended.returncode == 1
    assert 'container not found ("gather")' in ended.stderr

    no_pod = await kubectl(kubesim, "exec", "ghost", "--", "true")
    assert no_pod.returncode == 1
    assert 'pods "ghost" not found' in no_pod.stderr
