"""JSON bodies and responses as the API server writes them (compact, application/json)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def json_response(obj: Any, *, status: int = 200) -> web.Response:
    return web.Response(body=dumps(obj), status=status, content_type="application/json")
