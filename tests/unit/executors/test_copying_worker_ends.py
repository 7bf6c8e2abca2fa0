"""``copy_tree``'s side of the worker: a worker that cannot be started or ends without its
last line fails the copy in plain words, and nothing of it is left."""

from __future__ import annotations

import asyncio
import errno
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from kubernetes_asyncio import client

from must_gather_api.executors.kubernetes import copying
from must_gather_api.executors.kubernetes.calls import ClusterCalls
from must_gather_api.executors.kubernetes.errors import CopyFailed


@pytest_asyncio.fixture
async def calls() -> AsyncIterator[ClusterCalls]:
    configuration = client.Configuration(host="http://127.0.0.1:9")
    async with ClusterCalls(
        client.ApiClient(configuration), request_timeout=1.0, deadline=time.monotonic() + 30
    ) as made:
        yield made


async def copy(calls: ClusterCalls, tmp_path: Path) -> int:
    return await copying.copy_tree(
        calls, "ns", "pod-1", source_dir="/must-gather/", destination=tmp_path / "c.tar", limit=None
    )


@pytest.mark.asyncio
async def test_a_worker_that_cannot_be_started_fails_the_copy(
    calls: ClusterCalls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(*_args: Any, **_kwargs: Any) -> asyncio.subprocess.Process:
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(asyncio, "create_subprocess_exec", refused)
    with pytest.raises(CopyFailed) as raised:
        await copy(calls, tmp_path)
    assert raised.value.reason == (
        "the copy of pod pod-1 could not be started: Resource temporarily unavailable"
    )


@pytest.mark.asyncio
async def test_a_worker_that_ends_without_its_last_line_fails_the_copy(
    calls: ClusterCalls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real process that reads the request and answers something else: json.tool echoes it.
    monkeypatch.setattr(copying, "WORKER", "json.tool")
    with pytest.raises(CopyFailed) as raised:
        await copy(calls, tmp_path)
    reason = raised.value.reason
    assert reason.startswith("the copy of pod pod-1 stopped unexpectedly: ")
    assert "run the gathering again" in reason
    assert str(tmp_path) not in reason and "json" not in reason
