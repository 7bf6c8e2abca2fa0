"""The archive on the server, without downloading it: its files, one file, its findings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from must_gather_api.client.api import Api, path_of
from must_gather_api.client.errors import ClientError

PAGE = 10000


async def list_files(api: Api, reference: str, *, prefix: str = "") -> list[dict[str, Any]]:
    """Every member whose path starts with ``prefix`` (all pages)."""
    found: list[dict[str, Any]] = []
    while True:
        body = await api.get_json(
            f"{path_of(reference)}/files",
            what=f"the files of gathering {reference!r}",
            params={"prefix": prefix, "limit": str(PAGE), "offset": str(len(found))},
        )
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise ClientError("the server's answer is not a list of files; is --server right?")
        found += body["items"]
        if not body["items"] or len(found) >= int(body.get("total", 0)):
            return found


async def read_file(api: Api, reference: str, path: str) -> AsyncIterator[bytes]:
    """The bytes of one file of the archive, as they come."""
    url = f"{path_of(reference)}/files/{quote(path, safe='/')}"
    async with api.stream(url, what=f"file {path!r} of gathering {reference!r}") as response:
        async for chunk in response.aiter_bytes():
            yield chunk


async def summary(api: Api, reference: str) -> dict[str, Any]:
    body = await api.get_json(
        f"{path_of(reference)}/summary", what=f"the summary of gathering {reference!r}"
    )
    if not isinstance(body, dict) or not isinstance(body.get("findings"), list):
        raise ClientError("the server's answer is not a summary; is --server right?")
    return body
