"""A gathering's ``cores`` over the API, where cores cannot be added: the gathering still
completes, and its output says why nothing was added."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import pytest_asyncio

from support.executors import FakeExecutor
from support.service import make_settings, running_app

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


@pytest_asyncio.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[httpx2.AsyncClient, FakeExecutor]]:
    executor = FakeExecutor()
    # No cluster configured: the service's own access (and so the cores) is unavailable.
    async with running_app(make_settings(tmp_path), executor=executor) as (_app, client):
        yield client, executor


async def ended(client: httpx2.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    created = await client.post("/must-gather", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["cores"] == body.get("cores", "none")
    url = f"/must-gather/{created.json()['id']}"
    async with client.stream("GET", url + "/logs", params={"follow": "true"}) as out:
        async for _ in out.aiter_bytes():
            pass
    found: dict[str, Any] = (await client.get(url)).json()
    return found


async def test_without_a_cluster_the_gathering_completes_and_says_why_no_cores(
    api: tuple[httpx2.AsyncClient, FakeExecutor],
) -> None:
    client, _ = api
    done = await ended(client, {"image": "fake/ok", "cores": "metadata"})
    assert done["status"] == "completed", done["error-reason"]
    assert done["cores"] == "metadata"
    lines = [line for line in done["exec-output"].splitlines() if "cores:" in line]
    assert len(lines) == 1, done["exec-output"]
    assert lines[0].startswith("[must-gather-api] cores: none added: core dumps cannot be read")
    files = (await client.get(f"/must-gather/{done['id']}/files?limit=1000")).json()
    assert not [item for item in files["items"] if "/cores/" in item["path"]]


async def test_an_image_that_packs_its_own_archive_gets_no_cores_and_is_told_so(
    api: tuple[httpx2.AsyncClient, FakeExecutor],
) -> None:
    client, _ = api
    done = await ended(client, {"image": "fake/own-archive", "cores": "all"})
    assert done["status"] == "completed", done["error-reason"]
    assert "cores: none added: the image packed its own must-gather.tar.gz" in (done["exec-output"])


async def test_none_adds_no_step_and_a_cancel_ends_a_cores_gathering(
    api: tuple[httpx2.AsyncClient, FakeExecutor],
) -> None:
    client, executor = api
    plain = await ended(client, {"image": "fake/ok"})
    assert "cores:" not in plain["exec-output"]
    created = await client.post("/must-gather", json={"image": "fake/block", "cores": "all"})
    gathering = created.json()
    await executor.wait_started(gathering["id"])
    cancelled = await client.delete(f"/must-gather/{gathering['id']}")
    assert cancelled.status_code == 200
    assert cancelled.json()["error-reason"] == "cancelled"
    assert "cores:" not in cancelled.json()["exec-output"]
