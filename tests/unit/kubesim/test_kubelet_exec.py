"""The exec websocket protocol as a raw client sees it: negotiation, framing, stdin, cut."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from kubesim import kinds
from kubesim.auth import ADMIN_TOKEN
from kubesim.cluster import Cluster
from kubesim.kubelet.execs import choose_protocol, parse_bool

pytestmark = pytest.mark.timeout(60)

EXEC = "/api/v1/namespaces/default/pods/box/exec"


def test_protocol_choice_and_bools() -> None:
    assert choose_protocol("v5.channel.k8s.io") == "v5.channel.k8s.io"
    assert choose_protocol("v4.channel.k8s.io, v5.channel.k8s.io") == "v4.channel.k8s.io"
    assert choose_protocol("base64.channel.k8s.io,v4.channel.k8s.io") == "v4.channel.k8s.io"
    assert choose_protocol("channel.k8s.io") is None
    assert choose_protocol(None) is None
    assert parse_bool("True") and parse_bool("1") and not parse_bool("false")
    with pytest.raises(ValueError):
        parse_bool("yes")


@pytest_asyncio.fixture
async def box(kubesim: Cluster) -> AsyncIterator[aiohttp.ClientSession]:
    kubesim.store.create(
        kinds.PODS,
        {
            "metadata": {"name": "box", "namespace": "default"},
            "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "main", "image": "busybox", "command": ["sleep", "300"]}],
            },
        },
    )
    async with asyncio.timeout(15), kubesim.store.watch(kinds.PODS) as watch:
        async for _, pod in watch:
            statuses = pod.get("status", {}).get("containerStatuses") or [{}]
            if pod["metadata"]["name"] == "box" and "running" in statuses[0].get("state", {}):
                break
    context = ssl.create_default_context(cafile=str(kubesim.ca_file))
    async with aiohttp.ClientSession(
        base_url=kubesim.url,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        connector=aiohttp.TCPConnector(ssl=context),
    ) as session:
        yield session


async def frames(
    session: aiohttp.ClientSession,
    query: list[tuple[str, str]],
    *,
    protocols: tuple[str, ...] = ("v5.channel.k8s.io",),
    stdin: bytes | None = None,
) -> tuple[str | None, list[bytes], int | None]:
    async with session.ws_connect(EXEC, params=query, protocols=protocols) as ws:
        if stdin is not None:
            for start in range(0, len(stdin), 32 * 1024):
                await ws.send_bytes(b"\x00" + stdin[start : start + 32 * 1024])
            await ws.send_bytes(b"\xff\x00")
        received = [msg.data async for msg in ws if msg.type == aiohttp.WSMsgType.BINARY]
        return ws.protocol, received, ws.close_code


def output(received: list[bytes], channel: int) -> bytes:
    return b"".join(f[1:] for f in received if f[0] == channel)


def command(*argv: str, **flags: str) -> list[tuple[str, str]]:
    query = [("command", a) for a in argv]
    query += [("stdout", "true"), ("stderr", "true")]
    return query + list(flags.items())


@pytest.mark.asyncio
async def test_v5_framing_from_first_frame_to_status(box: aiohttp.ClientSession) -> None:
    protocol, received, close_code = await frames(
        box, command("sh", "-c", "printf out; printf err >&2; exit 2")
    )
    assert protocol == "v5.channel.k8s.io"
    assert received[0] == b"\x01"
    assert received[-1][0] == 3
    status: dict[str, Any] = json.loads(received[-1][1:])
    assert status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "2"}]
    assert (output(received, 1), output(received, 2)) == (b"out", b"err")
    assert close_code == 1000


@pytest.mark.asyncio
async def test_v4_when_offered_first(box: aiohttp.ClientSession) -> None:
    protocol, received, _ = await frames(
        box, command("true"), protocols=("v4.channel.k8s.io", "v5.channel.k8s.io")
    )
    assert protocol == "v4.channel.k8s.io"
    assert json.loads(received[-1][1:]) == {"metadata": {}, "status": "Success"}


@pytest.mark.asyncio
async def test_stdin_flows_and_v5_close_ends_it(box: aiohttp.ClientSession) -> None:
    data = os.urandom(300_000)
    _, received, _ = await frames(box, command("cat", stdin="true"), stdin=data)
    assert output(received, 1) == data
    assert json.loads(received[-1][1:])["status"] == "Success"


@pytest.mark.asyncio
async def test_cut_fault_stops_after_exactly_n_bytes(
    kubesim: Cluster, box: aiohttp.ClientSession
) -> None:
    kubesim.faults.exec_cut_after_bytes = 70_000
    _, received, close_code = await frames(box, command("head", "-c", "1000000", "/dev/zero"))
    assert len(output(received, 1)) == 70_000
    assert json.loads(received[-1][1:])["status"] == "Success"
    assert close_code == 1000


@pytest.mark.asyncio
async def test_refusals_are_status_objects(box: aiohttp.ClientSession) -> None:
    async with box.post(EXEC, params=command("true")) as spdy:
        assert spdy.status == 400
        body = await spdy.json()
        assert (body["kind"], body["reason"]) == ("Status", "BadRequest")
    async with box.get(EXEC, params=command("true")) as plain:
        assert plain.status == 400
        assert (await plain.json())["message"] == "Upgrade request required"
    with pytest.raises(aiohttp.WSServerHandshakeError) as legacy:
        await frames(box, command("true"), protocols=("channel.k8s.io",))
    assert legacy.value.status == 400
    async with box.get(EXEC, params=[("stdout", "true")]) as no_command:
        assert (await no_command.json())["message"] == "you must specify at least 1 command"


@pytest.mark.asyncio
async def test_a_stop_cancelled_half_way_still_closes_the_pipes(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server shutting down cancels a session while it kills the command: the process
    still dies and our ends of its pipes still close (a paused pipe never closes itself)."""
    from kubesim.kubelet import execs, processes

    killing = asyncio.Event()

    async def never_done(*_args: object, **_kwargs: object) -> int:
        killing.set()
        await asyncio.Event().wait()
        return 0

    monkeypatch.setattr(execs, "signal_container", never_done)
    request = execs.ExecRequest(argv=["sh", "-c", "exec yes"], cwd=tmp_path, env={})
    session = execs._Session(None, execs.V5, request, None)  # type: ignore[arg-type]
    session.process = await processes.spawn(request.argv, cwd=tmp_path, env={})
    session.abandoned = True
    assert session.process.stdout is not None
    assert await session.process.stdout.read(1) == b"y"
    stopping = asyncio.create_task(session.stop_process(), name="stop")
    await killing.wait()
    stopping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    assert session.process._pipes.is_closing()  # type: ignore[attr-defined]
    assert await asyncio.wait_for(session.process.wait(), 10) != 0
