"""Watches of stored kinds: newline-delimited events, from now or replayed from a
resourceVersion, until timeoutSeconds, a fault, shutdown or disconnect."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from kubesim.errors import BadRequest, Gone
from kubesim.kinds import Kind
from kubesim.selectors import field_matcher, label_matcher
from kubesim.server import tables
from kubesim.server.responses import dumps
from kubesim.server.state import ServerState

log = logging.getLogger(__name__)


async def watch(
    request: web.Request, state: ServerState, kind: Kind, namespace: str | None
) -> web.StreamResponse:
    """Newline-delimited watch events until timeoutSeconds, a fault, shutdown or disconnect."""
    query = request.query
    by_labels = label_matcher(query.get("labelSelector"))
    by_fields = field_matcher(query.get("fieldSelector"))
    try:
        timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else None
    except ValueError as e:
        raise BadRequest(f"invalid timeoutSeconds {query['timeoutSeconds']!r}") from e
    since = query.get("resourceVersion") or None
    as_table = tables.wants_table(request.headers.get("Accept", ""))
    try:
        w = state.store.watch(kind, namespace=namespace, since=since)
    except Gone as e:
        # kube-apiserver reports an expired resourceVersion inside the stream, as an ERROR
        # event, which is what clients' retry logic looks for.
        expired = web.StreamResponse(status=200)
        expired.content_type = "application/json"
        await expired.prepare(request)
        await expired.write(dumps({"type": "ERROR", "object": e.status()}) + b"\n")
        await expired.write_eof()
        return expired
    initial: list[dict[str, Any]] = []
    if since in (None, "0"):
        # Without a resourceVersion a watch starts with the current state as ADDED events.
        initial = state.store.list(kind, namespace=namespace)
    limit = state.faults.watch_disconnect_after
    state.watches.add(w)
    response = web.StreamResponse(status=200)
    response.content_type = "application/json"
    response.enable_chunked_encoding()
    try:
        await response.prepare(request)
        sent = 0

        async def send(event_type: str, obj: dict[str, Any]) -> bool:
            nonlocal sent
            if not (by_labels(obj) and by_fields(obj)):
                return True
            body: Any = obj
            if as_table:
                rv = obj["metadata"].get("resourceVersion", "")
                body = tables.table(kind, [obj], resource_version=rv, request=request)
            await response.write(dumps({"type": event_type, "object": body}) + b"\n")
            sent += 1
            return limit is None or sent < limit

        async with asyncio.timeout(timeout):
            going = True
            for obj in initial:
                going = await send("ADDED", obj)
                if not going:
                    break
            while going:
                try:
                    event_type, obj = await anext(w)
                except StopAsyncIteration:
                    break
                going = await send(event_type, obj)
    except TimeoutError:
        pass
    except (ConnectionResetError, ConnectionError):
        log.debug("watch client went away")
    finally:
        w.close()
        state.watches.discard(w)
    return response
