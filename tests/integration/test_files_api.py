"""Browsing an archive: `/files` lists its members, `/files/{path}` serves one of them."""

from __future__ import annotations

import asyncio
import io
import tarfile
from collections.abc import AsyncIterator, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import httpx2
import pytest
import pytest_asyncio
from fastapi import FastAPI

from support.executors import FakeExecutor
from support.service import make_settings, running_app

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


@pytest_asyncio.fixture
async def service(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx2.AsyncClient]]:
    async with running_app(make_settings(tmp_path), executor=FakeExecutor()) as running:
        yield running


@pytest_asyncio.fixture
async def api(service: tuple[FastAPI, httpx2.AsyncClient]) -> httpx2.AsyncClient:
    return service[1]


async def raw_status(app: FastAPI, raw_path: bytes) -> int:
    """The status of a GET sent exactly as written (an HTTP client would resolve `..`)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote_to_bytes(raw_path).decode("utf-8", "surrogateescape"),
        "raw_path": raw_path,
        "query_string": b"",
        "headers": [(b"host", b"test")],
        "server": ("test", 80),
        "client": ("127.0.0.1", 1),
        "root_path": "",
        "state": {},
    }
    sent: list[MutableMapping[str, Any]] = []
    requested = False
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if requested:  # later calls wait for a disconnect that comes when all was sent
            await done.wait()
            return {"type": "http.disconnect"}
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    await app(scope, receive, send)
    return int(sent[0]["status"])


async def gathered(api: httpx2.AsyncClient, image: str = "fake/ok") -> dict[str, Any]:
    created = (await api.post("/must-gather", json={"image": image})).json()
    for _ in range(400):
        body: dict[str, Any] = (await api.get(f"/must-gather/{created['id']}")).json()
        if body["status"] in ("completed", "error"):
            return body
        await asyncio.sleep(0.01)
    raise AssertionError(f"gathering did not finish: {body}")


def archive_members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isreg()
        }


async def test_every_member_is_listed_and_served_as_tar_has_it(api: httpx2.AsyncClient) -> None:
    gathering = await gathered(api)
    whole = archive_members((await api.get(f"/must-gather/{gathering['id']}/data")).content)
    listing = (await api.get(f"/must-gather/{gathering['id']}/files")).json()
    files = {item["path"]: item for item in listing["items"] if item["type"] == "file"}
    assert set(files) == set(whole)
    assert listing["total"] == len(listing["items"]) == 5  # top, 2 directories, 2 files
    for path, content in whole.items():
        response = await api.get(f"/must-gather/{gathering['id']}/files/{path}")
        assert response.status_code == 200, path
        assert response.content == content
        assert files[path]["size"] == len(content)
        assert files[path]["mtime"].endswith("Z")


async def test_prefix_limit_and_offset(api: httpx2.AsyncClient) -> None:
    gathering = await gathered(api)
    url = f"/must-gather/{gathering['id']}/files"
    everything = [i["path"] for i in (await api.get(url)).json()["items"]]
    page = (await api.get(url, params={"limit": 2, "offset": 1})).json()
    assert [i["path"] for i in page["items"]] == everything[1:3]
    assert page["total"] == len(everything)
    namespaces = (await api.get(url, params={"prefix": "must-gather/namespaces/"})).json()
    assert [i["path"] for i in namespaces["items"]] == [
        "must-gather/namespaces/default",
        "must-gather/namespaces/default/events.yaml",
    ]
    assert (await api.get(url, params={"limit": 0})).status_code == 400


async def test_content_type_range_and_download(api: httpx2.AsyncClient) -> None:
    gathering = await gathered(api)
    url = f"/must-gather/{gathering['id']}/files/must-gather/version"
    whole = await api.get(url)
    assert whole.content == b"fake/ok\n1.0.0\n"
    assert whole.headers["content-type"] == "text/plain; charset=utf-8"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["x-content-type-options"] == "nosniff"
    assert "content-disposition" not in whole.headers
    part = await api.get(url, headers={"Range": "bytes=2-5"})
    assert part.status_code == 206
    assert part.content == b"ke/o"
    assert part.headers["content-range"] == "bytes 2-5/14"
    tail = await api.get(url, headers={"Range": "bytes=-6"})
    assert (tail.status_code, tail.content) == (206, b"1.0.0\n")
    refused = await api.get(url, headers={"Range": "bytes=99-"})
    assert refused.status_code == 416
    assert refused.headers["content-range"] == "bytes */14"
    saved = await api.get(url, params={"download": "true"})
    assert saved.headers["content-disposition"].startswith('attachment; filename="version"')
    head = await api.head(url)
    assert (head.status_code, head.headers["content-length"], head.content) == (200, "14", b"")
    yaml = await api.get(url.replace("version", "namespaces/default/events.yaml"))
    assert yaml.headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize(
    "path",
    [
        "must-gather/namespaces/../version",
        "must-gather%2Fversion",
        "must-gather/namespaces%2F..%2Fversion",
        "/must-gather/version",
        "%2Fmust-gather%2Fversion",
        "must-gather/./version",
        "must-gather/%2e%2e/must-gather/version",
        "must-gather/namespaces",
        "must-gather/nope",
        "../../../etc/passwd",
        "%2e%2e/%2e%2e/etc/passwd",
    ],
)
async def test_nothing_but_an_exact_member_path_is_served(
    service: tuple[FastAPI, httpx2.AsyncClient], path: str
) -> None:
    app, api = service
    gathering = await gathered(api)
    base = f"/must-gather/{gathering['id']}/files/".encode()
    assert await raw_status(app, base + b"must-gather/version") == 200
    assert await raw_status(app, base + path.encode()) == 404, path


async def test_an_archive_the_image_packed_is_indexed_on_first_use(
    api: httpx2.AsyncClient, tmp_path: Path
) -> None:
    gathering = await gathered(api, "fake/own-archive")
    index = tmp_path / "data" / "gatherings" / str(gathering["id"]) / "archive.index"
    assert index.is_file()
    index.unlink()  # as for an archive made before indexes existed
    listing = (await api.get(f"/must-gather/{gathering['id']}/files")).json()
    assert [i["path"] for i in listing["items"]] == ["must-gather/plan.yaml"]
    got = await api.get(f"/must-gather/{gathering['id']}/files/must-gather/plan.yaml")
    assert got.content == b"plan data\n"
    assert index.is_file()


async def test_no_archive_no_files(api: httpx2.AsyncClient) -> None:
    gathering = await gathered(api, "fake/empty")
    assert (await api.get(f"/must-gather/{gathering['id']}/files")).status_code == 404
    assert (await api.get("/must-gather/99/files")).status_code == 404


async def test_the_summary_is_ready_with_the_archive(
    api: httpx2.AsyncClient, tmp_path: Path
) -> None:
    gathering = await gathered(api)
    assert gathering["summary"] == {"error": 0, "warning": 0, "info": 0}
    assert gathering["products"] == [
        {"product": "fake/ok", "version": "1.0.0", "path": "must-gather/version"}
    ]
    body = (await api.get(f"/must-gather/{gathering['id']}/summary")).json()
    assert body["counts"] == gathering["summary"]
    assert body["findings"] == []
    # The output's last lines reach the log at its next flush, after the status changed.
    for _ in range(200):
        logs = (await api.get(f"/must-gather/{gathering['id']}/logs")).text
        if "analysis:" in logs:
            break
        await asyncio.sleep(0.01)  # the output log flushes every 50 ms here
    assert "[must-gather-api] analysis: 0 errors, 0 warnings" in logs


async def test_an_older_archive_is_analyzed_when_first_asked(
    api: httpx2.AsyncClient, tmp_path: Path
) -> None:
    gathering = await gathered(api, "fake/own-archive")
    directory = tmp_path / "data" / "gatherings" / str(gathering["id"])
    for name in ("summary.json", "summary.brief.json", "archive.index"):
        (directory / name).unlink()
    assert "summary" not in (await api.get(f"/must-gather/{gathering['id']}")).json()
    body = (await api.get(f"/must-gather/{gathering['id']}/summary")).json()
    assert [(f["area"], f["reason"], f["evidence"]) for f in body["findings"]] == [
        ("products", "NoVersionFile", ["must-gather"])
    ]
    again = (await api.get(f"/must-gather/{gathering['id']}")).json()
    assert again["summary"] == {"error": 0, "warning": 1, "info": 0}
    assert (await api.get("/must-gather/99/summary")).status_code == 404
    empty = await gathered(api, "fake/empty")
    assert (await api.get(f"/must-gather/{empty['id']}/summary")).status_code == 404
