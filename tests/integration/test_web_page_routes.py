"""`/ui/`: the page's files come from the package, with a strict CSP and nothing from
elsewhere; the API also takes the token an oauth-proxy forwards."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest
import pytest_asyncio

from must_gather_api.api.ui import load_assets
from must_gather_api.auth.base import Caller
from must_gather_api.errors import Unauthenticated
from must_gather_api.settings import Permission
from support.executors import FakeExecutor
from support.service import make_settings, running_app

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]


@dataclass
class RecordingAuthenticator:
    """Lets in the Authorization header "Bearer good", and records what it was given."""

    seen: list[str | None] = field(default_factory=list)

    async def authenticate(self, authorization: str | None) -> Caller:
        self.seen.append(authorization)
        if authorization != "Bearer good":
            raise Unauthenticated("the bearer token is not valid")
        return Caller(user="someone", token="good")

    async def may(self, caller: Caller, permission: Permission) -> bool:
        return True

    async def close(self) -> None:
        return None


@pytest_asyncio.fixture
async def page_service(
    tmp_path: Path,
) -> AsyncIterator[tuple[RecordingAuthenticator, httpx2.AsyncClient]]:
    authenticator = RecordingAuthenticator()
    settings = make_settings(tmp_path)
    async with running_app(settings, executor=FakeExecutor(), authenticator=authenticator) as (
        _app,
        client,
    ):
        yield authenticator, client


async def test_the_page_and_its_files_have_a_strict_policy(
    page_service: tuple[RecordingAuthenticator, httpx2.AsyncClient],
) -> None:
    authenticator, api = page_service
    page = await api.get("/ui/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy
    assert "unsafe" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in page.headers
    # No inline script or style, no handler attributes: the policy would refuse them.
    assert re.findall(r"<script(?![^>]*\bsrc=)", page.text) == []
    assert "<style" not in page.text
    assert re.search(r"\son[a-z]+=", page.text) is None
    for name, media_type in [("app.js", "text/javascript"), ("app.css", "text/css")]:
        asset = await api.get(f"/ui/{name}")
        assert asset.status_code == 200
        assert asset.headers["content-type"].startswith(media_type)
        assert asset.headers["content-security-policy"] == policy
        again = await api.get(f"/ui/{name}", headers={"if-none-match": asset.headers["etag"]})
        assert again.status_code == 304
    # The page is static: it needs no token and never checks one; the API it calls does.
    assert authenticator.seen == []


async def test_nothing_is_loaded_from_elsewhere() -> None:
    assets = load_assets()
    assert {"index.html", "app.js", "app.css", "icon.svg"} <= set(assets)
    for name, asset in assets.items():
        text = asset.body.decode()
        links = re.findall(r"""(?:src|href)=["']([^"'#]+)""", text)
        assert all(not re.match(r"[a-z]+:|//", link) for link in links), (name, links)
        if name.endswith(".js"):
            assert "innerHTML" not in text and "insertAdjacentHTML" not in text
            assert "document.write" not in text and "eval(" not in text


async def test_the_banner_links_the_page_and_unknown_files_are_404(
    page_service: tuple[RecordingAuthenticator, httpx2.AsyncClient],
) -> None:
    _, api = page_service
    assert "/ui/" in (await api.get("/")).text
    moved = await api.get("/ui")
    assert moved.status_code == 308
    assert moved.headers["location"] == "ui/"
    missing = await api.get("/ui/nothing.js")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("headers", "expected", "reviewed"),
    [
        ({"x-forwarded-access-token": "good"}, 200, "Bearer good"),
        # An oauth-proxy may send its own Basic Authorization: the forwarded token wins.
        (
            {"authorization": "Basic dXNlcjo=", "x-forwarded-access-token": "good"},
            200,
            "Bearer good",
        ),
        ({"authorization": "Bearer good", "x-forwarded-access-token": "bad"}, 200, "Bearer good"),
        ({"x-forwarded-access-token": "bad"}, 401, "Bearer bad"),
        ({"x-forwarded-access-token": " "}, 401, None),
        ({"authorization": "Basic dXNlcjo="}, 401, "Basic dXNlcjo="),
    ],
)
async def test_a_forwarded_token_is_reviewed_like_a_bearer_token(
    page_service: tuple[RecordingAuthenticator, httpx2.AsyncClient],
    headers: dict[str, str],
    expected: int,
    reviewed: str | None,
) -> None:
    authenticator, api = page_service
    assert (await api.get("/must-gather", headers=headers)).status_code == expected
    assert authenticator.seen == [reviewed]
