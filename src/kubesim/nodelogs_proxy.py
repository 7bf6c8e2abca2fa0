"""``GET /api/v1/nodes/{name}/proxy/logs/...``: the API server's node proxy to the kubelet's logs.

The middleware has authorized ``get`` on ``nodes/proxy`` already. The kubelet then answers in
one of three ways, in this order:

- ``logs/journal`` (the path ``oc adm node-logs`` asks for by default): OpenShift's kubelet
  journal handler, with oc's parameters ``unit``, ``since``, ``until``, ``tail``, ``grep``,
  ``case-sensitive`` and ``boot`` (``since``/``until`` in journalctl's forms: ``-7d``,
  ``2026-12-04 10:00:00``, or RFC 3339);
- any of the NodeLogQuery parameters (``query``, ``sinceTime``, ``untilTime``, ``tailLines``,
  ``pattern``, ``boot``) on ``logs/``: the upstream node log query;
- otherwise the file server over the node's /var/log.

Kubelet errors leave as plain text, as the proxy passes them through.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from aiohttp import web

from kubesim import kinds
from kubesim.appkeys import KUBELET_KEY, STORE_KEY
from kubesim.errors import NotFound
from kubesim.kubelet import nodelogs, varlog
from kubesim.kubelet.rootfs import node_root

_QUERY_PARAMETERS = ("query", "sinceTime", "untilTime", "tailLines", "pattern", "boot")
_SERVICE_NAME = re.compile(r"^[A-Za-z0-9._@:-]+$")
_RELATIVE = re.compile(r"^([+-])(\d+)(s|m|h|d)$")
_MAX_TAIL = 100_000


class _Rejected(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _text(status: int, message: str) -> web.Response:
    return web.Response(
        status=status,
        text=message if message.endswith("\n") else message + "\n",
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )


def _rfc3339(name: str, value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _Rejected(400, f'{name}: Invalid value: "{value}": must be RFC 3339') from None
    if parsed.tzinfo is None:
        raise _Rejected(400, f'{name}: Invalid value: "{value}": must be RFC 3339')
    return parsed.astimezone(UTC)


def _journalctl_time(name: str, value: str, now: datetime) -> datetime:
    """journalctl's --since/--until forms that oc passes on: relative or an ISO time (UTC)."""
    relative = _RELATIVE.match(value)
    if relative:
        sign, amount, unit = relative.groups()
        seconds = int(amount) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
        return now + timedelta(seconds=seconds if sign == "+" else -seconds)
    if value in ("now", "today", "yesterday"):
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return {"now": now, "today": midnight, "yesterday": midnight - timedelta(days=1)}[value]
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _Rejected(400, f'Failed to parse timestamp: "{value}" ({name})') from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _integer(name: str, value: str | None, low: int, high: int) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError:
        raise _Rejected(400, f'{name}: Invalid value: "{value}": must be an integer') from None
    if not low <= number <= high:
        raise _Rejected(400, f"{name}: Invalid value: {number}: must be in [{low}, {high}]")
    return number


def _units(values: list[str]) -> list[str]:
    for unit in values:
        if not _SERVICE_NAME.match(unit):
            raise _Rejected(400, f'query: Invalid value: "{unit}": not a service name')
    return values


def _journal_query(request: web.Request) -> nodelogs.JournalQuery:
    """oc's parameters on ``logs/journal``; oc sends the NodeLogQuery names beside them."""
    q = request.query
    now = datetime.now(UTC)
    since, until = q.get("since"), q.get("until")
    tail = q.get("tail") or q.get("tailLines")
    return nodelogs.JournalQuery(
        units=_units(q.getall("unit", []) or q.getall("query", [])),
        since=_journalctl_time("since", since, now) if since else None,
        until=_journalctl_time("until", until, now) if until else None,
        tail=_integer("tail", tail, 0, _MAX_TAIL),
        pattern=q.get("grep") or q.get("pattern") or None,
        case_sensitive=q.get("case-sensitive", "true").lower() != "false",
        boot=_integer("boot", q.get("boot"), -100, 0),
    )


def _node_log_query(request: web.Request, rest: str) -> nodelogs.JournalQuery:
    """The upstream NodeLogQuery: only on ``logs/`` itself, and at least one service."""
    if rest:
        raise _Rejected(406, "path not allowed in query mode")
    q = request.query
    units = _units(q.getall("query", []))
    if not units:
        raise _Rejected(406, "query: Required value: query cannot be empty")
    since = _rfc3339("sinceTime", q["sinceTime"]) if q.get("sinceTime") else None
    until = _rfc3339("untilTime", q["untilTime"]) if q.get("untilTime") else None
    if since and until and until < since:
        raise _Rejected(406, "untilTime: Invalid value: must be after `sinceTime`")
    return nodelogs.JournalQuery(
        units=units,
        since=since,
        until=until,
        tail=_integer("tailLines", q.get("tailLines"), 0, _MAX_TAIL),
        pattern=q.get("pattern") or None,
        boot=_integer("boot", q.get("boot"), -100, 0),
    )


async def node_logs(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    store = request.app[STORE_KEY]
    try:
        node = store.get(kinds.NODES, name)
    except NotFound:
        raise NotFound(f'nodes "{name}" not found', kind="nodes", name=name) from None
    kubelet = request.app.get(KUBELET_KEY)
    if kubelet is None:
        raise NotFound("this kubesim has no kubelet to proxy to")
    root = node_root(kubelet.ctx.state_dir, name)
    labels = node.get("metadata", {}).get("labels") or {}
    await asyncio.to_thread(
        nodelogs.seed, root, name, control_plane=nodelogs.is_control_plane(labels)
    )
    # The raw path keeps the trailing slash that tells a directory from a file.
    rest = request.match_info.get("rest", "")
    try:
        if rest == "journal":
            wanted = _journal_query(request)
        elif any(key in request.query for key in _QUERY_PARAMETERS):
            wanted = _node_log_query(request, rest)
        else:
            answer = await asyncio.to_thread(varlog.serve, root / "var/log", rest)
            return _file_answer(answer)
        if wanted.pattern:
            try:
                re.compile(wanted.pattern)
            except re.error:
                raise _Rejected(400, f'pattern: Invalid value: "{wanted.pattern}"') from None
    except varlog.RefusedPath as e:
        return _text(400, str(e))
    except _Rejected as e:
        return _text(e.status, str(e))
    text = await asyncio.to_thread(nodelogs.query, root, wanted)
    return web.Response(text=text, content_type="text/plain", charset="utf-8")


def _file_answer(answer: varlog.Answer) -> web.Response:
    if answer.location is not None:
        return web.Response(status=answer.status, headers={"Location": answer.location})
    return web.Response(
        status=answer.status,
        body=answer.body,
        headers={"Content-Type": answer.content_type},
    )
