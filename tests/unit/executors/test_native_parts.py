"""Parts of the native executor that need no cluster: retries, tar checks, safe extraction,
image-stream pull specs."""

from __future__ import annotations

import io
import os
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from must_gather_api.archive import isolated
from must_gather_api.executors.kubernetes.copying import Completeness, tar_state
from must_gather_api.executors.kubernetes.errors import CopyFailed, GatherError, TooLarge
from must_gather_api.executors.kubernetes.extracting import extract
from must_gather_api.executors.kubernetes.images import pull_spec
from must_gather_api.kube import retrying
from support.hostile import hostile_tar


def api_error(status: int, retry_after: str | None = None) -> ApiException:
    error = ApiException(status=status, reason="x")
    error.headers = {"Retry-After": retry_after} if retry_after else {}  # type: ignore[assignment]
    return error


@pytest.mark.asyncio
async def test_transient_errors_are_retried_and_answers_are_not() -> None:
    calls = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise api_error(503)
        return "ok"

    fast = retrying.Backoff(initial=0.001, maximum=0.002)
    assert await retrying.retry(flaky, deadline=None, backoff=fast) == "ok"
    assert len(calls) == 3

    refusals = []

    async def forbidden() -> str:
        refusals.append(1)
        raise api_error(403)

    with pytest.raises(ApiException) as refused:
        await retrying.retry(forbidden, deadline=None, backoff=fast)
    assert refused.value.status == 403
    assert len(refusals) == 1  # an answer is final: a 403 is never asked again


@pytest.mark.asyncio
async def test_transient_errors_are_retried_only_so_many_times() -> None:
    calls = []

    async def down() -> str:
        calls.append(1)
        raise api_error(503)

    few = retrying.Backoff(initial=0.001, maximum=0.002, attempts=3)
    with pytest.raises(ApiException):
        await retrying.retry(down, deadline=None, backoff=few)
    assert len(calls) == 3


@pytest.mark.asyncio
async def test_retry_after_past_the_deadline_gives_up_at_once() -> None:
    calls = []

    async def throttled() -> str:
        calls.append(1)
        raise api_error(429, retry_after="30")

    started = time.monotonic()
    with pytest.raises(ApiException):
        await retrying.retry(throttled, deadline=time.monotonic() + 5)
    assert len(calls) == 1
    assert time.monotonic() - started < 1
    assert retrying.retry_after(api_error(429, "7")) == 7.0


def tar_bytes(entries: list[tarfile.TarInfo], data: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info in entries:
            payload = data.get(info.name)
            if payload is not None:
                info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return buffer.getvalue()


def entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def test_a_cut_tar_is_told_from_a_complete_one(tmp_path: Path) -> None:
    zeros = b"\0" * 4096
    whole = tar_bytes([entry("./zeros")], {"./zeros": zeros})
    path = tmp_path / "t.tar"
    path.write_bytes(whole)
    assert tar_state(path) == Completeness.COMPLETE
    # Cut inside a run of zeros that looks like end-of-archive blocks.
    path.write_bytes(whole[: 512 + 2048])
    assert tar_state(path) == Completeness.CUT
    path.write_bytes(b"garbage!" * 64 + whole)
    assert tar_state(path) == Completeness.CORRUPT


@pytest.mark.asyncio
async def test_extraction_refuses_what_would_leave_the_tree(tmp_path: Path) -> None:
    archive = tmp_path / "hostile.tar"
    archive.write_bytes(
        tar_bytes(
            [
                entry("./ok.txt"),
                entry("/etc/evil"),
                entry("./../evil"),
                entry("./link", tarfile.SYMTYPE, "/etc"),
                entry("./link/passwd"),
                entry("./hard", tarfile.LNKTYPE, "./ok.txt"),
                entry("./fifo", tarfile.FIFOTYPE),
                entry("./dir", tarfile.DIRTYPE),
                entry("./dir/inner.txt"),
            ],
            {
                "./ok.txt": b"ok",
                "/etc/evil": b"x",
                "./../evil": b"x",
                "./link/passwd": b"x",
                "./dir/inner.txt": b"in",
            },
        )
    )
    root = tmp_path / "root"
    result = await extract(archive, root, limit=None, max_entries=None, deadline=soon())
    assert (root / "ok.txt").read_bytes() == b"ok"
    assert (root / "link").is_symlink()
    assert (root / "dir/inner.txt").read_bytes() == b"in"
    assert not (tmp_path / "evil").exists()
    assert not (root / "hard").exists() and not (root / "fifo").exists()
    assert result.skipped == 5 and len(result.shown) == 5
    with pytest.raises(TooLarge, match="MAX_ARCHIVE_BYTES"):
        await extract(archive, tmp_path / "small", limit=3, max_entries=None, deadline=soon())
    with pytest.raises(TooLarge, match="MAX_ARCHIVE_ENTRIES"):
        await extract(archive, tmp_path / "few", limit=None, max_entries=4, deadline=soon())


def soon() -> float:
    return time.monotonic() + 30


@pytest.mark.asyncio
@pytest.mark.timeout(30)
async def test_a_negative_pax_size_is_refused_not_looped_on(tmp_path: Path) -> None:
    """tarfile steps back to the pax header and loops forever on this 4 KiB stream."""
    archive = tmp_path / "hostile.tar"
    archive.write_bytes(hostile_tar())
    assert tar_state(archive) == Completeness.CORRUPT
    started = time.monotonic()
    with pytest.raises(CopyFailed, match="not valid: a pax header has a negative"):
        await extract(archive, tmp_path / "root", limit=None, max_entries=None, deadline=soon())
    assert time.monotonic() - started < 10
    assert (tmp_path / "root" / "first.txt").is_file()
    assert not (tmp_path / "root" / "trap.txt").exists()


@pytest.mark.asyncio
@pytest.mark.timeout(30)
async def test_extraction_is_stopped_at_its_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(isolated, "MIN_SECONDS", 0.5)
    fifo = tmp_path / "never-written"
    os.mkfifo(fifo)  # opening it for reading blocks forever: the worker hangs
    started = time.monotonic()
    with pytest.raises(GatherError, match="did not finish within"):
        await extract(fifo, tmp_path / "root", limit=None, max_entries=None, deadline=0)
    assert time.monotonic() - started < 5


def test_pull_spec_honours_the_local_reference_policy() -> None:
    stream: dict[str, Any] = {
        "spec": {"tags": [{"name": "latest", "referencePolicy": {"type": "Local"}}]},
        "status": {
            "dockerImageRepository": "image-registry.svc:5000/openshift/must-gather",
            "tags": [
                {
                    "tag": "latest",
                    "items": [
                        {"image": "sha256:abc", "dockerImageReference": "quay.io/x@sha256:abc"}
                    ],
                }
            ],
        },
    }
    assert pull_spec(stream, "latest") == "image-registry.svc:5000/openshift/must-gather@sha256:abc"
    stream["spec"]["tags"][0]["referencePolicy"] = {"type": "Source"}
    assert pull_spec(stream, "latest") == "quay.io/x@sha256:abc"
    assert pull_spec(stream, "v2") == "image-registry.svc:5000/openshift/must-gather:v2"
