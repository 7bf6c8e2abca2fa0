"""The web page for people, at `/ui/`: a static page and its script and style.

Every asset ships in the package (``api/static/ui``) and is read once, through
importlib.resources, when the router is built: nothing is fetched from elsewhere. The
page holds no data; everything it shows comes from the API, with the caller's token
in a header, so the page needs no authentication of its own and CSRF has nothing to
ride on (no cookie is ever set). A strict Content-Security-Policy allows scripts and
styles from the service only, never inline.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

_PACKAGE = "must_gather_api.api"
_FOLDER = ("static", "ui")
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
    ]
)
_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
    "cross-origin-opener-policy": "same-origin",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def load_assets() -> dict[str, Asset]:
    """Every file of the page, by name, from the installed package."""
    folder = resources.files(_PACKAGE).joinpath(*_FOLDER)
    assets = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if not entry.is_file() or suffix not in _TYPES:
            continue
        body = entry.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        assets[entry.name] = Asset(body=body, media_type=_TYPES[suffix], etag=etag)
    return assets


def _answer(asset: Asset, request: Request) -> Response:
    headers = {**_HEADERS, "etag": asset.etag}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def build_router() -> APIRouter:
    """The `/ui` routes, with the assets read now (the package does not change)."""
    assets = load_assets()
    router = APIRouter(prefix="/ui", tags=["web page"], include_in_schema=False)

    @router.get("")
    async def to_page() -> RedirectResponse:
        return RedirectResponse("ui/", status_code=308)

    @router.get("/")
    async def page(request: Request) -> Response:
        return _answer(assets["index.html"], request)

    @router.get("/{name}")
    async def asset(name: str, request: Request) -> Response:
        found = assets.get(name)
        if found is None:
            raise HTTPException(404)
        return _answer(found, request)

    return router
