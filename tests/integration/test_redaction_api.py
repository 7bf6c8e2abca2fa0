"""Redacted gatherings over the API: the archive, the report for admins only, the settings."""

from __future__ import annotations

import asyncio
import io
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import pytest_asyncio

from must_gather_api.auth.base import Caller
from must_gather_api.errors import Unauthenticated
from must_gather_api.settings import Permission
from support.executors import SENSITIVE, FakeExecutor
from support.redacted import every_member, leaks
from support.service import make_settings, running_app

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]

ADMIN = {"Authorization": "Bearer admin"}
USER = {"Authorization": "Bearer user"}


class TwoCallers:
    """``admin`` has the admin permission, ``user`` only the required one."""

    async def authenticate(self, authorization: str | None) -> Caller:
        token = (authorization or "").removeprefix("Bearer ")
        if token not in {"admin", "user"}:
            raise Unauthenticated("no such token")
        return Caller(user=token, token=token, is_admin=token == "admin")

    async def may(self, caller: Caller, permission: Permission) -> bool:
        return caller.is_admin

    async def close(self) -> None:
        return None


@pytest_asyncio.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx2.AsyncClient]:
    settings = make_settings(tmp_path)
    async with running_app(settings, executor=FakeExecutor(), authenticator=TwoCallers()) as (
        _app,
        client,
    ):
        yield client


async def finished(api: httpx2.AsyncClient, body: dict[str, Any], headers: dict[str, str]) -> Any:
    created = await api.post("/must-gather", json=body, headers=headers)
    assert created.status_code == 201, created.text
    for _ in range(500):
        found = (await api.get(f"/must-gather/{created.json()['id']}", headers=headers)).json()
        if found["status"] in ("completed", "error"):
            return found
        await asyncio.sleep(0.01)
    raise AssertionError("the gathering did not finish")


async def test_a_redacted_gathering_serves_no_original_and_only_admins_read_the_report(
    api: httpx2.AsyncClient,
) -> None:
    done = await finished(api, {"image": "fake/sensitive", "redact": True}, USER)
    assert done["status"] == "completed", done
    assert done["redact"] is True
    assert "redacted: " in done["exec-output"]
    archive = (await api.get(f"/must-gather/{done['id']}/data", headers=USER)).content
    found = every_member(archive)
    assert leaks(found, SENSITIVE) == []
    assert "must-gather/watermark.txt" in found
    listed = (await api.get(f"/must-gather/{done['id']}/files?limit=1000", headers=USER)).json()
    assert {item["path"] for item in listed["items"]} == set(found)
    refused = await api.get(f"/must-gather/{done['id']}/redaction-report", headers=USER)
    assert refused.status_code == 403
    assert "admin permission" in refused.json()["detail"]
    report = await api.get(f"/must-gather/{done['id']}/redaction-report", headers=ADMIN)
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("application/yaml")
    assert b"10.0.0.10" in report.content and b"replacedWith" in report.content
    assert (await api.get("/must-gather/99/redaction-report", headers=ADMIN)).status_code == 404


async def test_an_unredacted_gathering_has_no_report_and_keep_original_is_for_admins(
    api: httpx2.AsyncClient,
) -> None:
    plain = await finished(api, {"image": "fake/sensitive"}, ADMIN)
    assert plain["redact"] is False
    missing = await api.get(f"/must-gather/{plain['id']}/redaction-report", headers=ADMIN)
    assert missing.status_code == 404
    refused = await api.post(
        "/must-gather",
        json={"image": "fake/sensitive", "redact": True, "keep-original": True},
        headers=USER,
    )
    assert refused.status_code == 403
    assert "keep-original" in refused.json()["detail"]
    alone = await api.post("/must-gather", json={"keep-original": True}, headers=ADMIN)
    assert alone.status_code == 400
    kept = await finished(
        api, {"image": "fake/sensitive", "redact": True, "keep-original": True}, ADMIN
    )
    original = await api.get(f"/must-gather/{kept['id']}/original", headers=ADMIN)
    assert original.status_code == 200
    assert any(b"10.0.0.10" in data for data in every_member(original.content).values())
    redacted = await api.get(f"/must-gather/{kept['id']}/data", headers=ADMIN)
    assert not any(b"10.0.0.10" in data for data in every_member(redacted.content).values())


async def test_an_images_own_archive_is_redacted_too(api: httpx2.AsyncClient) -> None:
    done = await finished(api, {"image": "fake/own-archive", "redact": True}, ADMIN)
    assert done["status"] == "completed", done
    found = every_member((await api.get(f"/must-gather/{done['id']}/data", headers=ADMIN)).content)
    assert found["must-gather/plan.yaml"] == b"plan data\n"
    assert "must-gather/watermark.txt" in found


async def test_an_unsafe_own_archive_is_vetted_before_it_is_redacted(
    api: httpx2.AsyncClient,
) -> None:
    done = await finished(
        api, {"image": "fake/unsafe-archive", "redact": True, "keep-original": True}, ADMIN
    )
    assert done["status"] == "completed", done["error-reason"]
    assert "held 7 unsafe entries" in done["exec-output"]
    assert "[must-gather-api] redacted:" in done["exec-output"]
    for path in ("data", "original"):
        response = await api.get(f"/must-gather/{done['id']}/{path}", headers=ADMIN)
        assert response.status_code == 200
        with tarfile.open(fileobj=io.BytesIO(response.content)) as tar:
            members = tar.getmembers()
        assert "must-gather/ok.txt" in [m.name for m in members], path
        for member in members:
            assert member.isreg() or member.isdir(), (path, member.name)
            assert not member.name.startswith("/") and ".." not in member.name.split("/")
            assert not member.mode & 0o6000, (path, member.name)


@pytest.mark.parametrize(("mode", "status"), [("off", 400), ("always", 201)])
async def test_the_redaction_setting(tmp_path: Path, mode: str, status: int) -> None:
    settings = make_settings(tmp_path, redaction=mode)
    async with running_app(settings, executor=FakeExecutor()) as (_app, api):
        asked = await api.post("/must-gather", json={"image": "fake/sensitive", "redact": True})
        assert asked.status_code == status, asked.text
        if mode == "always":
            forced = await finished(api, {"image": "fake/sensitive"}, {})
            assert forced["redact"] is True
            archive = (await api.get(f"/must-gather/{forced['id']}/data")).content
            assert not any(b"10.0.0.10" in data for data in every_member(archive).values())
            kept = await api.post("/must-gather", json={"redact": True, "keep-original": True})
            assert kept.status_code == 400
        else:
            assert "REDACTION=off" in asked.json()["detail"]


async def test_a_redaction_config_that_does_not_load_stops_the_start(tmp_path: Path) -> None:
    from must_gather_api.app import create_app
    from must_gather_api.errors import ConfigurationError

    config = tmp_path / "clean.yaml"
    config.write_text("config:\n  obfuscate:\n    - type: Domain\n")
    with pytest.raises(ConfigurationError, match="line 3: a Domain rule needs"):
        create_app(make_settings(tmp_path, redaction_config=str(config)), executor=FakeExecutor())
