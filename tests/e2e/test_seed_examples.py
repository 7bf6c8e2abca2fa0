"""The curl lines of the old service's README (seed 000), run as they are against a served app.

Only the address, the token placeholder and the example id are substituted.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import shutil
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
import pytest_asyncio

from support.executors import FakeExecutor
from support.service import make_settings, served_app

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed"),
]

README_LINES = {
    "start": """curl -X POST -H "Content-Type: application/json" -H "Authorization: Bearer <TOKEN>" -d '{"image": "quay.io/kubev2v/forklift-must-gather", "timeout": "15m"}' http://localhost:8080/must-gather""",  # noqa: E501
    "get": """curl -H "Authorization: Bearer <TOKEN>" http://localhost:8080/must-gather/15""",
    "download": """curl -H "Authorization: Bearer <TOKEN>" -OJ http://localhost:8080/must-gather/15/data""",
    "list": """curl -H "Authorization: Bearer <TOKEN>" http://localhost:8080/must-gather""",
}


@pytest_asyncio.fixture
async def executor() -> FakeExecutor:
    return FakeExecutor()


@pytest_asyncio.fixture
async def url(tmp_path: Path, executor: FakeExecutor) -> AsyncIterator[str]:
    async with served_app(make_settings(tmp_path), executor=executor) as base:
        yield base


async def curl(line: str, *, url: str, gathering_id: int, cwd: Path) -> bytes:
    line = line.replace("http://localhost:8080", url).replace("<TOKEN>", "sha256~example")
    line = line.replace("/must-gather/15", f"/must-gather/{gathering_id}")
    process = await asyncio.create_subprocess_exec(
        *shlex.split(line),
        "--silent",
        "--show-error",
        "--fail",
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out


async def test_the_readme_session_works_unchanged(url: str, tmp_path: Path) -> None:
    created = json.loads(await curl(README_LINES["start"], url=url, gathering_id=0, cwd=tmp_path))
    assert (created["status"], created["timeout"]) == ("new", "15m")
    gathering_id = created["id"]
    for _ in range(500):
        shown = json.loads(
            await curl(README_LINES["get"], url=url, gathering_id=gathering_id, cwd=tmp_path)
        )
        if shown["status"] == "completed":
            break
        await asyncio.sleep(0.02)
    assert shown["status"] == "completed"
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    await curl(README_LINES["download"], url=url, gathering_id=gathering_id, cwd=downloads)
    saved = downloads / "must-gather.tar.gz"
    assert saved.stat().st_size == shown["archive-size"]
    with tarfile.open(saved) as tar:
        assert "must-gather/version" in tar.getnames()
    listed = json.loads(await curl(README_LINES["list"], url=url, gathering_id=0, cwd=tmp_path))
    assert [item["id"] for item in listed] == [gathering_id]


async def test_logs_follow_streams_until_the_gathering_ends(
    url: str, executor: FakeExecutor
) -> None:
    async with httpx2.AsyncClient(base_url=url, timeout=10) as client:
        created = (await client.post("/must-gather", json={"image": "fake/block"})).json()
        await executor.wait_started(created["id"])
        seen = b""
        async with client.stream(
            "GET", f"/must-gather/{created['id']}/logs", params={"follow": "true"}
        ) as response:
            assert response.status_code == 200
            chunks = response.aiter_bytes()
            while b"gathering with fake/block" not in seen:
                seen += await anext(chunks)
            executor.release(created["id"])
            async for chunk in chunks:
                seen += chunk
        assert b"archive ready" in seen
        final = (await client.get(f"/must-gather/{created['id']}")).json()
        assert final["status"] == "completed"
