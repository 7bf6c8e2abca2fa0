"""The copy worker: ``python -m must_gather_api.executors.kubernetes.copy_worker``.

One process per pod copy receives the exec stream (TLS, websocket frames, demultiplexing,
the writes and the walk over the tar headers) so that none of it holds the service's
interpreter lock while the service answers requests. It reads one request on stdin
(``copy_wire``), lowers its CPU priority, caps its memory and the size of the file it
writes, dies with its parent, and writes JSON lines on
stdout: retry notices, then the attempts or the error.

Its imports stay light (aiohttp, the tar reader, a few modules of this package; not the
Kubernetes client): the worker's whole start takes about 0.2 s of CPU (``/usr/bin/time``;
``python -X importtime`` puts most of it in aiohttp), against 0.5 s with the Kubernetes
client and 0.65 s with the executor package as importing any of its modules loaded it.

SIGTERM (the service cancelling the copy) cancels the copy as a cancel in the service did:
the websocket is closed (so the exec session in the cluster ends) and the file is closed;
then the worker exits. What is left of the file is the service's to remove.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from must_gather_api.executors.kubernetes import copy_stream, copy_wire
from must_gather_api.executors.kubernetes.errors import GatherError
from must_gather_api.executors.kubernetes.exec_socket import ExecClient
from must_gather_api.kube import failures
from must_gather_api.lifetimes import background_priority, die_with_parent, exit_at_once

NICENESS = 10
MEMORY_BYTES = 1 << 30
"""The worker's address-space cap. In the tests a copy worker peaked at 250 MiB of address
space (40 MiB resident), measured before its allocator was held to two arenas
(``MALLOC_ARENA_MAX=2``, ``copying.command``)."""
STOPPED = 3
"""The exit status after SIGTERM: the copy was cancelled, no last line is written."""
CRASHED = 4
"""The exit status after an error the copy does not expect (its traceback is on stderr)."""


def _confine(request: copy_wire.CopyRequest) -> None:
    die_with_parent(request.parent)
    # A Ctrl-C in the service's terminal reaches its whole process group: stopping the
    # copy is the service's decision (SIGTERM), not the terminal's.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The stream is the pod's, hostile by assumption. The copy bounds it itself (frames of
    # 4 MiB at most, the file stopped at the limit); the kernel's caps hold should a bug
    # let more through: the memory past MEMORY_BYTES fails to be allocated, and a write
    # past the limit fails (EFBIG: Python ignores SIGXFSZ) rather than filling the volume.
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    if request.limit is not None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (request.limit, request.limit))
    background_priority(NICENESS)


async def _copy(
    request: copy_wire.CopyRequest, emit: Callable[[copy_wire.Event], None]
) -> copy_wire.Event:
    deadline = time.monotonic() + request.remaining

    def retried(what: str, error: BaseException, delay: float) -> None:
        emit(copy_wire.Retried(what, failures.describe(error), delay))

    async with ExecClient(request.endpoint, deadline=deadline, on_retry=retried) as client:
        try:
            attempts = await copy_stream.copy_into(
                client,
                request.namespace,
                request.pod,
                container=request.container,
                source_dir=request.source_dir,
                destination=Path(request.destination),
                limit=request.limit,
                max_entries=request.max_entries,
                max_attempts=request.max_attempts,
            )
        except GatherError as e:
            return copy_wire.failed(e)
    return copy_wire.Copied(attempts)


async def _until_terminated(
    request: copy_wire.CopyRequest, emit: Callable[[copy_wire.Event], None]
) -> copy_wire.Event | None:
    """The copy's last event; None when SIGTERM stopped it first."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await _copy(request, emit)
    except asyncio.CancelledError:
        return None
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def main() -> int:
    raw = sys.stdin.buffer.read()
    if not raw:  # a spare whose service ended before it had a copy for it
        return 0
    request = copy_wire.CopyRequest.decode(raw)
    _confine(request)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    out = sys.stdout.buffer

    def emit(event: copy_wire.Event) -> None:
        out.write(copy_wire.line(event))
        out.flush()

    try:
        last = asyncio.run(_until_terminated(request, emit))
    except Exception:  # a bug: the service says the copy failed; the details go to its log
        traceback.print_exc(file=sys.stderr)
        return CRASHED
    if last is None:
        return STOPPED
    emit(last)
    return 0


if __name__ == "__main__":
    exit_at_once(main())
