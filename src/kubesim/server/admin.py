"""``/kubesim/faults``: read, add and clear faults at run time (cluster-admin only)."""

from __future__ import annotations

from aiohttp import web

from kubesim.errors import BadRequest
from kubesim.server.resources import json_response, read_json
from kubesim.server.state import STATE_KEY


async def get_faults(request: web.Request) -> web.Response:
    return json_response(request.app[STATE_KEY].faults.as_json())


async def post_faults(request: web.Request) -> web.Response:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("the faults body must be a JSON object")
    faults = request.app[STATE_KEY].faults
    faults.apply_json(body)
    return json_response(faults.as_json())


async def delete_faults(request: web.Request) -> web.Response:
    faults = request.app[STATE_KEY].faults
    faults.clear()
    return json_response(faults.as_json())
