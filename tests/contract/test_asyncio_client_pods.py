"""kubernetes-asyncio (the client the service uses) against kubesim's logs and exec."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
import pytest_asyncio
from kubernetes_asyncio import client, config
from kubernetes_asyncio.stream import WsApiClient

from kubesim.cluster import Cluster
from support.pods import NAMESPACE, container_state, gathered, must_gather_pod, wait_for_pod

pytestmark = pytest.mark.timeout(90)

V5_HEADERS = {"sec-websocket-protocol": "v5.channel.k8s.io,v4.channel.k8s.io"}
GATHER = r"""
echo "gather starting"
python3 - <<'EOF'
import os, random
rng = random.Random(11)
os.makedirs("/must-gather/cluster-scoped-resources/nodes", exist_ok=True)
with open("/must-gather/cluster-scoped-resources/nodes/node.yaml", "w") as f:
    f.write("kind: Node\n" * 1000)
with open("/must-gather/blob.bin", "wb") as f:
    f.write(rng.randbytes(2 * 1024 * 1024 + 5))
EOF
echo "gather done"
"""


@pytest_asyncio.fixture
async def configuration(kubesim: Cluster, tmp_path: Path) -> client.Configuration:
    cfg = client.Configuration()
    kubeconfig = kubesim.write_kubeconfig(tmp_path / "kubeconfig")
    await config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    return cfg


@pytest_asyncio.fixture
async def core(configuration: client.Configuration) -> AsyncIterator[client.CoreV1Api]:
    async with client.ApiClient(configuration) as api:
        yield client.CoreV1Api(api)


@pytest_asyncio.fixture
async def ws_core(configuration: client.Configuration) -> AsyncIterator[client.CoreV1Api]:
    async with WsApiClient(configuration) as api:
        yield client.CoreV1Api(api)


async def create_pod(core: client.CoreV1Api, pod: dict[str, Any]) -> None:
    await core.create_namespaced_pod(NAMESPACE, cast(Any, pod))


async def run_exec(
    ws_core: client.CoreV1Api, pod: str, command: list[str], **kwargs: Any
) -> tuple[bytes, bytes, dict[str, Any], list[bytes]]:
    """stdout, stderr, the status, and the raw frames in order."""
    ws: Any = await ws_core.connect_get_namespaced_pod_exec(
        pod,
        NAMESPACE,
        command=cast(Any, command),  # the generated signature says str; a list repeats it
        container=kwargs.pop("container", "copy"),
        stdout=True,
        stderr=True,
        stdin=False,
        tty=False,
        _preload_content=False,
        **kwargs,
    )
    out, err, frames = io.BytesIO(), io.BytesIO(), []
    status: dict[str, Any] = {}
    async with ws as conn:
        async for msg in conn:
            assert msg.type == aiohttp.WSMsgType.BINARY
            frames.append(msg.data[:1])
            channel, data = msg.data[0], msg.data[1:]
            if channel == 1:
                out.write(data)
            elif channel == 2:
                err.write(data)
            elif channel == 3:
                status = json.loads(data)
        assert conn.close_code == 1000
    return out.getvalue(), err.getvalue(), status, frames


@pytest.mark.asyncio
async def test_exec_v4_demuxes_channels_and_reports_the_exit_code(
    kubesim: Cluster, core: client.CoreV1Api, ws_core: client.CoreV1Api
) -> None:
    await create_pod(core, must_gather_pod("mg", GATHER))
    await wait_for_pod(kubesim, "mg", gathered)

    out, err, status, frames = await run_exec(
        ws_core, "mg", ["sh", "-c", "echo out; echo err >&2; exit 4"]
    )
    assert (out, err) == (b"out\n", b"err\n")
    assert status["status"] == "Failure"
    assert status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "4"}]
    assert WsApiClient.parse_error_data(json.dumps(status)) == 4
    assert frames[0] == b"\x01"  # the empty stdout frame comes first ...
    assert frames[-1] == b"\x03"  # ... and the status last

    _, _, ok, _ = await run_exec(ws_core, "mg", ["true"])
    assert ok == {"metadata": {}, "status": "Success"}


@pytest.mark.asyncio
async def test_exec_tar_stream_is_byte_identical_over_v5(
    kubesim: Cluster, core: client.CoreV1Api, ws_core: client.CoreV1Api
) -> None:
    await create_pod(core, must_gather_pod("mg", GATHER))
    await wait_for_pod(kubesim, "mg", gathered)

    out, _, status, _ = await run_exec(
        ws_core, "mg", ["tar", "-C", "/must-gather", "-c", "."], _headers=V5_HEADERS
    )
    assert status["status"] == "Success"
    volume = kubesim.kubelet.workers[(NAMESPACE, "mg")].volumes["must-gather-output"]
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
    assert set(files) == {"./blob.bin", "./cluster-scoped-resources/nodes/node.yaml"}
    for name, content in files.items():
        assert content == (Path(volume) / name).read_bytes()

    # kubectl cp's form names members after the path asked for, as in a real container.
    out, _, _, _ = await run_exec(ws_core, "mg", ["tar", "cf", "-", "/must-gather"])
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        assert "must-gather/blob.bin" in tar.getnames()


@pytest.mark.asyncio
async def test_exec_cut_fault_ends_with_success_after_n_bytes(
    kubesim: Cluster, core: client.CoreV1Api, ws_core: client.CoreV1Api
) -> None:
    await create_pod(core, must_gather_pod("mg", GATHER))
    await wait_for_pod(kubesim, "mg", gathered)
    kubesim.faults.exec_cut_after_bytes = 100_000

    out, _, status, _ = await run_exec(ws_core, "mg", ["cat", "/must-gather/blob.bin"])
    assert len(out) == 100_000
    assert status["status"] == "Success"


@pytest.mark.asyncio
async def test_exec_errors_before_upgrading(
    kubesim: Cluster, core: client.CoreV1Api, ws_core: client.CoreV1Api
) -> None:
    await create_pod(core, must_gather_pod("mg", GATHER))
    await wait_for_pod(kubesim, "mg", gathered)
    with pytest.raises(aiohttp.WSServerHandshakeError) as missing:
        await run_exec(ws_core, "mg", ["true"], container="nope")
    assert missing.value.status == 400
    with pytest.raises(aiohttp.WSServerHandshakeError) as ended:
        await run_exec(ws_core, "mg", ["true"], container="gather")
    assert ended.value.status == 400


@pytest.mark.asyncio
async def test_logs_read_and_follow(kubesim: Cluster, core: client.CoreV1Api) -> None:
    script = "echo one; while [ ! -e /must-gather/go ]; do sleep 0.05; done; echo two; echo three"
    await create_pod(core, must_gather_pod("mg", script))
    await wait_for_pod(kubesim, "mg", lambda p: "running" in container_state(p, "gather"))

    # "running" is reported when the process starts, maybe before its first line is logged.
    async with asyncio.timeout(10):
        while not (now := await core.read_namespaced_pod_log("mg", NAMESPACE, container="gather")):
            await asyncio.sleep(0.02)
    assert now == "one\n"

    response: Any = await core.read_namespaced_pod_log(
        "mg", NAMESPACE, container="gather", follow=True, _preload_content=False
    )
    received = bytearray()
    async with asyncio.timeout(20):
        async for chunk in response.content.iter_any():
            received += chunk
            if received == b"one\n":
                volume = kubesim.kubelet.workers[(NAMESPACE, "mg")].volumes["must-gather-output"]
                (Path(volume) / "go").touch()
    response.release()
    assert bytes(received) == b"one\ntwo\nthree\n"

    tail = await core.read_namespaced_pod_log(
        "mg", NAMESPACE, container="gather", tail_lines=2, timestamps=True
    )
    assert [line.split(" ", 1)[1] for line in tail.splitlines()] == ["two", "three"]


@pytest.mark.asyncio
async def test_log_needs_a_container_when_there_are_several(
    kubesim: Cluster, core: client.CoreV1Api
) -> None:
    await create_pod(core, must_gather_pod("mg", GATHER))
    await wait_for_pod(kubesim, "mg", gathered)
    with pytest.raises(client.ApiException) as raised:
        await core.read_namespaced_pod_log("mg", NAMESPACE)
    assert raised.value.status == 400
    message = json.loads(str(raised.value.body))["message"]
    assert message == (
        "a container name must be specified for pod mg, choose one of: [gather copy]"
    )
