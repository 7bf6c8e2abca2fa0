"""Downloading an archive: resumable, and checked against the archive's sha256.

Bytes go to ``NAME.part`` first, with ``NAME.part.json`` beside it holding the ETag and the
expected sha256. A broken connection is retried from where it broke with a Range request;
an interrupted command, run again, resumes the same way. ``If-Range`` makes the server send
the whole archive instead if it is no longer the one the partial file came from. Only an
archive whose sha256 matches is renamed to NAME.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import httpx2

from must_gather_api.client.api import Api, Gathering, describe_transport_error, path_of
from must_gather_api.client.errors import ChecksumMismatch, NotFound, Unreachable, UsageError

CHUNK = 1024 * 1024
ATTEMPTS = 5
RETRY_DELAY = 0.5


class Progress(Protocol):
    def start(self, *, total: int | None, completed: int) -> None: ...

    def advance(self, count: int) -> None: ...


class NoProgress:
    def start(self, *, total: int | None, completed: int) -> None:
        pass

    def advance(self, count: int) -> None:
        pass


@dataclass(frozen=True)
class Downloaded:
    path: Path
    size: int
    sha256: str
    resumed_from: int = 0
    already_there: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "size": self.size,
            "sha256": self.sha256,
            "resumed-from": self.resumed_from,
            "already-there": self.already_there,
        }


def target_path(gathering: Gathering, output: Path | None) -> Path:
    """``-o`` as given, made absolute; in an existing directory, the archive's own name."""
    name = Path(gathering.archive_name).name or f"must-gather-{gathering.id}.tar.gz"
    if output is None:
        return Path.cwd() / name
    output = Path.cwd() / output
    if output.is_dir():
        return output / name
    return output


def partial_paths(target: Path) -> tuple[Path, Path]:
    return target.with_name(target.name + ".part"), target.with_name(target.name + ".part.json")


def _sha256_of(path: Path) -> hashlib._Hash:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(CHUNK):
            digest.update(block)
    return digest


def _open_for_writing(path: Path, *, append: bool) -> BinaryIO:
    return path.open("ab") if append else path.open("wb")


class _Transfer:
    """One archive's way to disk, over as many requests as it takes."""

    def __init__(self, api: Api, gathering: Gathering, target: Path, progress: Progress) -> None:
        self.api = api
        self.gathering = gathering
        self.target = target
        self.progress = progress
        self.partial, self.meta = partial_paths(target)
        self.digest = hashlib.sha256()
        self.offset = 0
        self.etag = ""

    def resume_point(self) -> int:
        """Bytes already on disk from an earlier attempt at this very archive."""
        try:
            saved = json.loads(self.meta.read_text())
            size = self.partial.stat().st_size
        except (OSError, ValueError):
            return 0
        same = isinstance(saved, dict) and saved.get("sha256") == self.gathering.archive_sha256
        if not same or not saved.get("etag") or size > self.gathering.archive_size:
            return 0
        self.etag = str(saved["etag"])
        self.digest = _sha256_of(self.partial)
        return size

    def save_meta(self) -> None:
        record = {"etag": self.etag, "sha256": self.gathering.archive_sha256}
        self.meta.write_text(json.dumps(record))

    def discard(self) -> None:
        for path in (self.partial, self.meta):
            path.unlink(missing_ok=True)

    async def fetch(self) -> None:
        """One request: from ``offset`` on, appended, or from the start if the server says so."""
        if not self.etag:
            # Without an ETag the server cannot tell us if the archive changed: start over.
            self.offset = 0
            self.digest = hashlib.sha256()
        headers = {}
        if self.offset:
            headers = {"range": f"bytes={self.offset}-", "if-range": self.etag}
        url = path_of(str(self.gathering.id)) + "/data"
        what = f"the archive of gathering {self.gathering.id}"
        async with self.api.stream(url, what=what, headers=headers) as response:
            if response.status_code != 206:
                self.offset = 0
                self.digest = hashlib.sha256()
            self.etag = response.headers.get("etag", "")
            await asyncio.to_thread(self.save_meta)
            total = self.offset + int(response.headers.get("content-length", 0)) or None
            self.progress.start(total=total, completed=self.offset)
            sink = await asyncio.to_thread(
                _open_for_writing, self.partial, append=bool(self.offset)
            )
            try:
                async for chunk in response.aiter_bytes(CHUNK):
                    await asyncio.to_thread(sink.write, chunk)
                    self.digest.update(chunk)
                    self.offset += len(chunk)
                    self.progress.advance(len(chunk))
            finally:
                await asyncio.to_thread(sink.close)

    async def run(self) -> Downloaded:
        self.offset = await asyncio.to_thread(self.resume_point)
        resumed_from = self.offset
        for attempt in range(1, ATTEMPTS + 1):
            try:
                if self.offset < self.gathering.archive_size or not self.offset:
                    await self.fetch()
                break
            except httpx2.TransportError as e:
                self.offset = await asyncio.to_thread(lambda: self.partial.stat().st_size)
                if attempt == ATTEMPTS:
                    raise Unreachable(
                        f"the download stopped at {self.offset} of {self.gathering.archive_size} "
                        f"bytes ({describe_transport_error(self.api.connection.server, e)}); "
                        "run the same command again to resume"
                    ) from e
                await asyncio.sleep(RETRY_DELAY * attempt)
        return await self.finish(resumed_from)

    async def finish(self, resumed_from: int) -> Downloaded:
        actual = self.digest.hexdigest()
        expected = self.gathering.archive_sha256
        if expected and actual != expected:
            await asyncio.to_thread(self.discard)
            raise ChecksumMismatch(
                f"the archive of gathering {self.gathering.id} does not match its sha256 "
                f"(expected {expected[:12]}…, got {actual[:12]}…); the partial file was "
                "removed: run the command again"
            )
        await asyncio.to_thread(os.replace, self.partial, self.target)
        await asyncio.to_thread(self.meta.unlink, missing_ok=True)
        return Downloaded(self.target, self.offset, actual, resumed_from=resumed_from)


async def download(
    api: Api, gathering: Gathering, target: Path, *, progress: Progress | None = None
) -> Downloaded:
    """Saves the gathering's archive at ``target``; see the module text for how."""
    if not gathering.finished:
        raise NotFound(
            f"gathering {gathering.id} is {gathering.status}; its archive is not ready "
            f"(follow it with: must-gather-api logs -f {gathering.id})"
        )
    if not gathering.archive_name or gathering.raw.get("archive-removed"):
        why = gathering.raw.get("archive-removed") or gathering.error_reason or "nothing gathered"
        raise NotFound(f"gathering {gathering.id} has no archive ({why})")
    if await asyncio.to_thread(target.exists):
        existing = (await asyncio.to_thread(_sha256_of, target)).hexdigest()
        if existing == gathering.archive_sha256:
            size = (await asyncio.to_thread(target.stat)).st_size
            return Downloaded(target, size, existing, already_there=True)
        raise UsageError(f"{target} exists and is another file; remove it or choose -o PATH")
    if not await asyncio.to_thread(target.parent.is_dir):
        raise UsageError(f"the directory {target.parent} does not exist")
    transfer = _Transfer(api, gathering, target, progress or NoProgress())
    try:
        return await transfer.run()
    except OSError as e:
        # The partial file stays: once there is room again, the same command resumes.
        raise UsageError(f"cannot write {transfer.partial}: {e.strerror}") from e
