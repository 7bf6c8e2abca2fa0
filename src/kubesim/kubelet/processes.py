"""Container processes: spawning, output pumping, and killing everything a container started.

Every process of a container (its main process, what that starts, and exec sessions) carries
``KUBESIM_CONTAINER_ID`` in its environment. Processes can leave the container's process
group (``setsid``, as oc's must-gather command does), so killing a container finds its
processes by that marker in ``/proc/<pid>/environ``, like a cgroup would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path

from kubesim.kubelet.logs import LogWriter

log = logging.getLogger(__name__)

MARKER_ENV = "KUBESIM_CONTAINER_ID"
PIPE_CHUNK = 64 * 1024
# StreamReader buffer: large enough that one read returns a full chunk at pipe speed.
PIPE_LIMIT = 4 * PIPE_CHUNK


class StartError(Exception):
    """The container's command could not be started (real kubelets report StartError)."""


def exit_code(returncode: int) -> int:
    """A shell-style exit code: 128+N for death by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def marked_pids(marker: str, *, env_name: str = MARKER_ENV) -> list[int]:
    """Pids whose environment holds ``<env_name>=<marker>``. Blocking."""
    needle = f"{env_name}={marker}".encode()
    found: list[int] = []
    own = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == own:
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry))
    return found


async def signal_container(marker: str, sig: signal.Signals, *, env_name: str = MARKER_ENV) -> int:
    """Sends ``sig`` to every process of a container; returns how many got it."""
    pids = await asyncio.to_thread(marked_pids, marker, env_name=env_name)
    sent = 0
    for pid in pids:
        try:
            os.kill(pid, sig)
            sent += 1
        except (ProcessLookupError, PermissionError):
            continue
    return sent


async def spawn(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdin: bool = False,
    stdout: bool = True,
    stderr: bool = True,
) -> asyncio.subprocess.Process:
    """Starts a process in its own session; StartError when it cannot be executed."""
    pipe = asyncio.subprocess.PIPE
    devnull = asyncio.subprocess.DEVNULL
    loop = asyncio.get_running_loop()
    try:
        transport, protocol = await loop.subprocess_exec(
            lambda: _ExitAwareProtocol(limit=PIPE_LIMIT, loop=loop),
            *argv,
            cwd=cwd,
            env=dict(env),
            stdin=pipe if stdin else devnull,
            stdout=pipe if stdout else devnull,
            stderr=pipe if stderr else devnull,
            start_new_session=True,
        )
        return _Process(transport, protocol, loop)
    except FileNotFoundError as e:
        raise _not_found(argv, cwd) from e
    except PermissionError as e:
        raise StartError(f'exec: "{argv[0]}": permission denied: unknown') from e
    except OSError as e:
        raise StartError(f"exec: {e}: unknown") from e


class _ExitAwareProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    """Knows when the process itself ended, whoever still holds its pipes.

    On Python 3.11 ``Process.wait()`` called before the exit returns only once every
    pipe is closed; a container ends when its main process does, even if a process it
    left in the background still holds stdout.
    """

    def __init__(self, *, limit: int, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=limit, loop=loop)
        self.exited = asyncio.Event()

    def process_exited(self) -> None:
        super().process_exited()
        self.exited.set()


class _Process(asyncio.subprocess.Process):
    def __init__(
        self,
        transport: asyncio.SubprocessTransport,
        protocol: _ExitAwareProtocol,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        super().__init__(transport, protocol, loop)
        self._exit = protocol.exited
        self._pipes = transport

    def close(self) -> None:
        """Closes the pipes (and kills the process if it still runs): nothing is left open
        when a reader of its output was cancelled half-way."""
        self._pipes.close()

    async def exited(self) -> int:
        """The exit status, as soon as the process has ended."""
        await self._exit.wait()
        assert self.returncode is not None
        return self.returncode


def close(process: asyncio.subprocess.Process) -> None:
    """Closes what ``spawn`` opened for ``process``, whatever state its readers are in."""
    if isinstance(process, _Process):
        process.close()


async def exited(process: asyncio.subprocess.Process) -> int:
    """The exit status of a process from ``spawn``, as soon as it ended."""
    if isinstance(process, _Process):
        return await process.exited()
    return await process.wait()


def _not_found(argv: Sequence[str], cwd: Path) -> StartError:
    """The runtime's words for a missing executable or working directory."""
    missing = argv[0] if argv else ""
    if not os.path.isdir(cwd):
        return StartError(f'chdir to cwd ("{cwd}") set in config.json failed: no such directory')
    if "/" not in missing:
        return StartError(f'exec: "{missing}": executable file not found in $PATH: unknown')
    return StartError(f'exec: "{missing}": stat {missing}: no such file or directory: unknown')


class ContainerRun:
    """One run of a container's main process, its output going to a log file."""

    def __init__(self, *, marker: str, log_writer: LogWriter) -> None:
        self.marker = marker
        self.log_writer = log_writer
        self.process: asyncio.subprocess.Process | None = None
        self._pumps: list[asyncio.Task[None]] = []

    async def start(self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> None:
        self.process = await spawn(argv, cwd=cwd, env={**env, MARKER_ENV: self.marker})
        assert self.process.stdout is not None and self.process.stderr is not None
        self._pumps = [
            asyncio.create_task(
                self._pump(self.process.stdout, "stdout"), name=f"log-{self.marker}-stdout"
            ),
            asyncio.create_task(
                self._pump(self.process.stderr, "stderr"), name=f"log-{self.marker}-stderr"
            ),
        ]

    async def _pump(self, reader: asyncio.StreamReader, stream: str) -> None:
        while chunk := await reader.read(PIPE_CHUNK):
            self.log_writer.write(stream, chunk)

    async def wait(self) -> int:
        """Waits for the main process; then, as a container does, kills what it left behind."""
        assert self.process is not None
        try:
            returncode = await exited(self.process)
            await signal_container(self.marker, signal.SIGKILL)
            results = await asyncio.gather(*self._pumps, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException) and not isinstance(
                    result, asyncio.CancelledError
                ):
                    log.warning("log pump of %s failed: %r", self.marker, result)
        finally:
            close(self.process)
            self.log_writer.close()
        return exit_code(returncode)

    async def terminate(self, grace_seconds: float) -> None:
        """SIGTERM to every process of the container, SIGKILL after the grace period."""
        if self.process is None or self.process.returncode is not None:
            await signal_container(self.marker, signal.SIGKILL)
            return
        await signal_container(self.marker, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(exited(self.process), grace_seconds)
        await signal_container(self.marker, signal.SIGKILL)
