"""Reading the body of `POST /must-gather`: JSON, or the old form encoding, at most 64 KiB.

The old service chose its parser by Content-Type: JSON for `application/json`, form
fields otherwise (curl's `-d` sends a form). Both are kept; an empty body means "all
defaults" whatever the type (the old service refused an empty JSON body, which no
client relied on).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from must_gather_api.errors import InvalidRequest, RequestTooLarge

MAX_BODY_BYTES = 64 * 1024


async def read_limited(request: Request, *, limit: int = MAX_BODY_BYTES) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"the request body is larger than {limit // 1024} KiB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestTooLarge(f"the request body is larger than {limit // 1024} KiB")
    return bytes(body)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def parse_fields(body: bytes, *, media_type: str) -> dict[str, Any]:
    """The body's key/value pairs; InvalidRequest when it is not an object or a form."""
    if not body.strip():
        return {}
    if media_type in {"application/json", ""} or media_type.endswith("+json"):
        if media_type == "" and not body.lstrip().startswith(b"{"):
            return _form(body)
        return _json_object(body)
    if media_type == "application/x-www-form-urlencoded":
        return _form(body)
    raise InvalidRequest(
        f"the body's Content-Type {media_type!r} is not supported; "
        "send application/json (or a form, application/x-www-form-urlencoded)"
    )


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidRequest(f"the body is not valid UTF-8 (byte {e.start})") from e
    try:
        value = json.loads(text)
    # ValueError too: an integer longer than Python's 4300-digit limit is not a JSONDecodeError.
    except (ValueError, RecursionError) as e:
        where = (
            f" at line {e.lineno} column {e.colno}" if isinstance(e, json.JSONDecodeError) else ""
        )
        raise InvalidRequest(f"the body is not valid JSON{where}") from e
    if not isinstance(value, dict):
        raise InvalidRequest('the body must be a JSON object such as {"timeout": "15m"}')
    return value


def _form(body: bytes) -> dict[str, Any]:
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as e:
        raise InvalidRequest("the body is neither JSON nor a valid form") from e
    fields: dict[str, Any] = {}
    for key, value in pairs:
        if key in fields:
            raise InvalidRequest(f"{key}: given more than once")
        fields[key] = value
    return fields


async def read_fields(request: Request) -> dict[str, Any]:
    return parse_fields(await read_limited(request), media_type=_media_type(request))
