"""Receiving a pod's tar stream into a file: the copy worker's work (``copy_worker``).

``tar -C <source-dir> -c .`` runs in the ``copy`` container; its stdout comes over the exec
websocket (v5 or v4 channel frames, demultiplexed here) and goes to a file, never held in
memory. A stream without tar's end-of-archive blocks was cut: the next attempt resumes where
it stopped, as ``kubectl cp --retries`` does, with ``tail -c +OFFSET`` over the same
(finished, so unchanging) tree; if the resumed stream does not fit, the copy starts over once.

Everything here is blocking where it touches the file: it runs in a process of its own
whose only work is this copy, so a write or the walk over the headers delays nothing else.
"""

from __future__ import annotations

import shlex
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

import aiohttp

from must_gather_api.archive.tarstream import TarError, TarReader, TarTruncated, TooManyEntries
from must_gather_api.executors.kubernetes.errors import ClusterCallFailed, CopyFailed, TooLarge
from must_gather_api.executors.kubernetes.exec_channels import ExecEnding, stdout_of

BLOCK = 512
_WRITE_BUFFER = 1024 * 1024
_STDERR_KEPT = 4096
_MAX_FRUITLESS = 3


class ExecStreams(Protocol):
    """What the copy needs of the cluster: exec websockets, and the time left for them."""

    def exec_stream(
        self, namespace: str, pod: str, *, container: str, command: list[str], what: str
    ) -> AbstractAsyncContextManager[aiohttp.ClientWebSocketResponse]: ...

    def remaining(self) -> float: ...


class Completeness:
    COMPLETE = "complete"
    CUT = "cut"
    CORRUPT = "corrupt"


def tar_state(path: Path, *, max_entries: int | None = None) -> str:
    """Blocking: whether the tar file ends with its end-of-archive blocks.

    Walks the headers (skipping file data) rather than looking at the last bytes, because a
    stream cut inside a file full of zeros would look finished; the walk only moves forward
    and reads pax headers as an unpacker would, so a negative size is corrupt, not "complete".
    TooManyEntries past ``max_entries``.
    """
    with path.open("rb") as file:
        try:
            for _member in TarReader(file, max_entries=max_entries):
                pass
        except TarTruncated:
            return Completeness.CUT
        except TooManyEntries:
            raise
        except TarError:
            return Completeness.CORRUPT
    return Completeness.COMPLETE


@dataclass
class _Attempt:
    received: int = 0
    ending: ExecEnding = field(default_factory=lambda: ExecEnding(stderr_kept=_STDERR_KEPT))


async def _stream(
    calls: ExecStreams,
    namespace: str,
    pod: str,
    command: list[str],
    file: BinaryIO,
    *,
    container: str,
    limit: int | None,
    already: int,
) -> _Attempt:
    """One exec session's stdout appended to ``file``."""
    attempt = _Attempt()
    async with calls.exec_stream(
        namespace, pod, container=container, command=command, what=f"copy the data of pod {pod}"
    ) as socket:
        async for data in stdout_of(socket, attempt.ending):
            attempt.received += len(data)
            if limit is not None and already + attempt.received > limit:
                raise TooLarge(
                    f"the data of pod {pod} is larger than MAX_ARCHIVE_BYTES ({limit} bytes)"
                )
            file.write(data)
    return attempt


def _command(source_dir: str, offset: int) -> list[str]:
    tar = ["tar", "-C", source_dir, "-c", "."]
    if offset == 0:
        return tar
    return ["sh", "-c", f"{shlex.join(tar)} | tail -c +{offset + 1}"]


def _failure(attempt: _Attempt) -> str:
    status = attempt.ending.status or {}
    message = str(status.get("message") or "the stream ended without a status")
    stderr = attempt.ending.stderr.decode("utf-8", "replace").strip()
    return f"{message}{': ' + stderr if stderr else ''}"


async def copy_into(
    calls: ExecStreams,
    namespace: str,
    pod: str,
    *,
    container: str,
    source_dir: str,
    destination: Path,
    limit: int | None,
    max_entries: int | None,
    max_attempts: int,
) -> int:
    """Writes the pod's complete tar stream to ``destination``; returns the attempts it took.

    CopyFailed when no complete stream could be had within the deadline; TooLarge past
    ``limit`` bytes or ``max_entries`` entries.
    """
    try:
        with destination.open("wb", buffering=_WRITE_BUFFER) as file:
            return await _copy(
                calls,
                namespace,
                pod,
                file,
                container=container,
                source_dir=source_dir,
                destination=destination,
                limit=limit,
                max_entries=max_entries,
                max_attempts=max_attempts,
            )
    except OSError as e:
        # Buffered writes fail where the buffer is flushed (a full volume): at a flush
        # between attempts, or as the file closes.
        why = e.strerror or "an I/O error"
        raise CopyFailed(f"the copy of pod {pod} could not be written: {why}") from e


async def _copy(
    calls: ExecStreams,
    namespace: str,
    pod: str,
    file: BinaryIO,
    *,
    container: str,
    source_dir: str,
    destination: Path,
    limit: int | None,
    max_entries: int | None,
    max_attempts: int,
) -> int:
    fruitless, restarted, attempts = 0, False, 0
    while attempts < max_attempts:
        attempts += 1
        offset = file.tell()
        try:
            attempt = await _stream(
                calls,
                namespace,
                pod,
                _command(source_dir, offset),
                file,
                container=container,
                limit=limit,
                already=offset,
            )
        except ClusterCallFailed as e:
            if e.status is not None and e.status < 500 and e.status != 429:
                raise CopyFailed(e.reason) from e
            fruitless += 1
            if fruitless >= _MAX_FRUITLESS or calls.remaining() <= 0:
                raise CopyFailed(e.reason) from e
            continue
        except (aiohttp.ClientError, OSError) as e:
            attempt = _Attempt()
            fruitless += 1
            if fruitless >= _MAX_FRUITLESS or calls.remaining() <= 0:
                raise CopyFailed(f"the copy stream of pod {pod} failed: {e}") from e
        file.flush()  # what was received is read back from the file
        state = _state(destination, pod, max_entries)
        if state == Completeness.COMPLETE:
            return attempts
        ok = (attempt.ending.status or {}).get("status") == "Success"
        if state == Completeness.CORRUPT or (offset > 0 and not ok and attempt.received == 0):
            # The resumed stream does not continue the first (or tail is missing): restart.
            if restarted:
                raise CopyFailed(f"the tar stream of pod {pod} is not valid: {_failure(attempt)}")
            restarted = True
            _truncate(file)
            continue
        if attempt.received == 0:
            fruitless += 1
            if fruitless >= _MAX_FRUITLESS or calls.remaining() <= 0:
                raise CopyFailed(f"tar in pod {pod} sent nothing: {_failure(attempt)}")
        else:
            fruitless = 0
        if calls.remaining() <= 0:
            raise CopyFailed(f"the copy of pod {pod} was cut and time ran out")
    raise CopyFailed(f"the copy of pod {pod} was cut {attempts} times; giving up")


def _truncate(file: BinaryIO) -> None:
    file.seek(0)
    file.truncate()


def _state(destination: Path, pod: str, max_entries: int | None) -> str:
    """Blocking: in the copy worker, the walk over the headers delays only this copy."""
    try:
        return tar_state(destination, max_entries=max_entries)
    except TooManyEntries as e:
        raise TooLarge(
            f"the data of pod {pod} has more entries than MAX_ARCHIVE_ENTRIES ({max_entries})"
        ) from e
    except OSError as e:
        raise CopyFailed(
            f"the copy of pod {pod} could not be read back: {e.strerror or 'an I/O error'}"
        ) from e
