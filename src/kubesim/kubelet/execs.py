"""Exec sessions over the Kubernetes channel websocket protocols (v4 and v5).

Frames are binary, their first byte the channel: 0 stdin, 1 stdout, 2 stderr, 3 status,
4 resize; v5 adds ``[255, ch]``, the client closing its side of channel ``ch`` (stdin). The
session sends an empty stdout frame first, the output as it comes (one pipe read per frame,
each send awaited so a slow client slows the process down), and the status last.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from kubesim.kubelet.processes import (
    MARKER_ENV,
    PIPE_CHUNK,
    StartError,
    close,
    exit_code,
    signal_container,
    spawn,
)

log = logging.getLogger(__name__)

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
PROTOCOLS = (V5, V4)
STDIN, STDOUT, STDERR, STATUS, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
EXEC_ENV = "KUBESIM_EXEC_ID"
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_bool(value: str | None, *, default: bool = False) -> bool:
    """Go's strconv.ParseBool, which is how the API server reads these parameters."""
    if value is None or value == "":
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{value}": invalid syntax')


def choose_protocol(offered: str | None) -> str | None:
    """The first subprotocol the client offers that kubesim speaks."""
    for proto in (offered or "").split(","):
        if proto.strip() in PROTOCOLS:
            return proto.strip()
    return None


def success_status() -> dict[str, Any]:
    return {"metadata": {}, "status": "Success"}


def exit_code_status(code: int) -> dict[str, Any]:
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command "
        f"[{code}], exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def failure_status(
    message: str, *, reason: str = "InternalError", code: int = 500
) -> dict[str, Any]:
    return {
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def frame(channel: int, data: bytes = b"") -> bytes:
    return bytes((channel,)) + data


@dataclass
class ExecRequest:
    """A command to run in a container, already mapped to host paths."""

    argv: Sequence[str]
    cwd: Path
    env: Mapping[str, str]
    stdin: bool = False
    stdout: bool = True
    stderr: bool = True
    tty: bool = False
    exec_id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class ExecResult:
    """What a session ended with, for tests and logs."""

    status: dict[str, Any]
    stdout_bytes: int = 0
    cut: bool = False


async def run_exec(
    ws: web.WebSocketResponse,
    protocol: str,
    request: ExecRequest,
    *,
    cut_after_bytes: int | None = None,
) -> ExecResult:
    """Runs one exec session on a prepared websocket and closes it (code 1000)."""
    session = _Session(ws, protocol, request, cut_after_bytes)
    try:
        result = await session.run()
    finally:
        await session.stop_process()
    await ws.close(code=1000)
    return result


class _Session:
    def __init__(
        self,
        ws: web.WebSocketResponse,
        protocol: str,
        request: ExecRequest,
        cut_after_bytes: int | None,
    ) -> None:
        self.ws = ws
        self.protocol = protocol
        self.request = request
        self.cut_after = cut_after_bytes
        self.sent = 0
        self.cut = asyncio.Event()
        self.process: asyncio.subprocess.Process | None = None
        self.abandoned = False

    async def run(self) -> ExecResult:
        req = self.request
        # A tty has one output stream: stderr goes where stdout goes.
        want_stderr = req.stderr and not req.tty
        try:
            self.process = await spawn(
                req.argv,
                cwd=req.cwd,
                env={**req.env, EXEC_ENV: req.exec_id},
                stdin=req.stdin,
                stdout=req.stdout,
                stderr=want_stderr,
            )
        except StartError as e:
            status = failure_status(
                "Internal error occurred: error executing command in container: failed to "
                "exec in container: failed to start exec: OCI runtime exec failed: exec "
                f"failed: unable to start container process: {e}"
            )
            await self._send(STATUS, json.dumps(status).encode())
            return ExecResult(status)
        first = STDOUT if req.stdout else STDERR if want_stderr else STATUS
        await self._send(first, b"")
        proc = self.process
        pumps: list[asyncio.Task[None]] = []
        if proc.stdout is not None:
            pumps.append(
                asyncio.create_task(self._pump(proc.stdout, STDOUT), name=f"exec-{req.exec_id}-1")
            )
        if proc.stderr is not None:
            pumps.append(
                asyncio.create_task(self._pump(proc.stderr, STDERR), name=f"exec-{req.exec_id}-2")
            )
        reader = asyncio.create_task(self._read_client(), name=f"exec-{req.exec_id}-in")
        output_done = asyncio.gather(*pumps)
        finished = asyncio.ensure_future(self._finish(output_done))
        cut = asyncio.ensure_future(self.cut.wait())
        try:
            done, _ = await asyncio.wait(
                {finished, reader, cut}, return_when=asyncio.FIRST_COMPLETED
            )
            if cut in done:
                self.abandoned = True
                status = success_status()
            elif finished in done:
                status = finished.result()
            else:
                # The client went away: nobody is left to tell, and nobody to read the output.
                self.abandoned = True
                return ExecResult(failure_status("client closed the connection"), self.sent)
            await self._send(STATUS, json.dumps(status).encode())
            return ExecResult(status, self.sent, cut=cut in done)
        finally:
            for task in (*pumps, reader, finished, cut):
                task.cancel()
            await asyncio.gather(*pumps, reader, finished, cut, return_exceptions=True)
            output_done.cancel()

    async def _finish(self, output_done: asyncio.Future[list[None]]) -> dict[str, Any]:
        assert self.process is not None
        await output_done
        code = exit_code(await self.process.wait())
        return success_status() if code == 0 else exit_code_status(code)

    async def _pump(self, reader: asyncio.StreamReader, channel: int) -> None:
        while chunk := await reader.read(PIPE_CHUNK):
            if channel == STDOUT and self.cut_after is not None:
                left = self.cut_after - self.sent
                if len(chunk) >= left:
                    await self._send(channel, chunk[:left])
                    self.sent += left
                    self.cut.set()
                    return
            await self._send(channel, chunk)
            if channel == STDOUT:
                self.sent += len(chunk)

    async def _send(self, channel: int, data: bytes) -> None:
        await self.ws.send_bytes(frame(channel, data))

    async def _read_client(self) -> None:
        proc = self.process
        assert proc is not None
        stdin = proc.stdin
        async for msg in self.ws:
            # Text frames carry channel and payload as binary ones do: the API server reads
            # both alike, and the official Python client sends str stdin as text.
            if msg.type == WSMsgType.TEXT:
                data: bytes = msg.data.encode()
            elif msg.type == WSMsgType.BINARY:
                data = msg.data
            else:
                continue
            if not data:
                continue
            channel = data[0]
            if channel == STDIN and stdin is not None and not stdin.is_closing():
                stdin.write(data[1:])
                try:
                    await stdin.drain()
                except (BrokenPipeError, ConnectionResetError):
                    stdin = None  # the process stopped reading; later input is dropped
            elif (
                channel == CLOSE
                and self.protocol == V5
                and data[1:2] == bytes((STDIN,))
                and stdin is not None
                and not stdin.is_closing()
            ):
                stdin.close()
            # Resize (4) needs a terminal, which kubesim does not give processes.
        if stdin is not None and not stdin.is_closing():
            stdin.close()

    async def stop_process(self) -> None:
        """Reaps the process; kills the session's processes if the stream ended early."""
        proc = self.process
        if proc is None:
            return
        # Our ends of the pipes close whatever happens here, a cancellation (the server
        # shutting down) included: a reader cancelled half-way left them paused, and a paused
        # pipe never reaches EOF to close itself.
        try:
            if not self.abandoned and proc.returncode is not None:
                # As in a container, what the command left running keeps running.
                return
            await signal_container(self.request.exec_id, signal.SIGKILL, env_name=EXEC_ENV)
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            if proc.stdin is not None:
                proc.stdin.close()
            # wait() returns only once the pipes are closed: read what is left up to EOF.
            for reader in (proc.stdout, proc.stderr):
                if reader is not None:
                    while await reader.read(PIPE_CHUNK):
                        pass
            await proc.wait()
        finally:
            close(proc)


__all__ = [
    "CLOSE",
    "MARKER_ENV",
    "PROTOCOLS",
    "RESIZE",
    "STATUS",
    "STDERR",
    "STDIN",
    "STDOUT",
    "V4",
    "V5",
    "ExecRequest",
    "ExecResult",
    "choose_protocol",
    "parse_bool",
    "run_exec",
]
