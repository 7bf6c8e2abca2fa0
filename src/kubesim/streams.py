"""The kubelet's streaming endpoints as the API server routes them: pods/log and pods/exec.

Both validate everything before answering, so that errors leave as plain HTTP responses
with a ``Status`` body (for exec: before the websocket upgrade, which is what lets kubectl
print them). Authentication and RBAC happened in the server's middleware already.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

from aiohttp import hdrs, web

from kubesim.appkeys import FAULTS_KEY, KUBELET_KEY
from kubesim.errors import BadRequest, Invalid, NotFound
from kubesim.kubelet import Kubelet, LogSource
from kubesim.kubelet.execs import PROTOCOLS, ExecRequest, choose_protocol, parse_bool, run_exec
from kubesim.kubelet.logs import LogOptions, parse_rfc3339, read_log, render_text

log = logging.getLogger(__name__)


def _kubelet(request: web.Request) -> Kubelet:
    kubelet = request.app.get(KUBELET_KEY)
    if kubelet is None:
        raise NotFound("this kubesim has no kubelet to stream from")
    return kubelet


def _bool(request: web.Request, name: str, *, default: bool = False) -> bool:
    try:
        return parse_bool(request.query.get(name), default=default)
    except ValueError as e:
        raise BadRequest(f"invalid value for {name}: {e}") from e


def _int(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError as e:
        raise BadRequest(f'{name}: Invalid value: "{value}": must be an integer') from e


def log_options(request: web.Request) -> LogOptions:
    """PodLogOptions from the query, with the API server's validation."""
    since_seconds = _int(request, "sinceSeconds")
    since_time = request.query.get("sinceTime")
    tail_lines = _int(request, "tailLines")
    limit_bytes = _int(request, "limitBytes")
    problems = []
    if since_seconds is not None and since_time:
        problems.append("at most one of `sinceTime` or `sinceSeconds` may be specified")
    if since_seconds is not None and since_seconds < 1:
        problems.append(f"sinceSeconds: Invalid value: {since_seconds}: must be greater than 0")
    if tail_lines is not None and tail_lines < 0:
        problems.append(
            f"tailLines: Invalid value: {tail_lines}: must be greater than or equal to 0"
        )
    if limit_bytes is not None and limit_bytes < 1:
        problems.append(f"limitBytes: Invalid value: {limit_bytes}: must be greater than 0")
    since_ns: int | None = None
    if since_time:
        try:
            since_ns = parse_rfc3339(since_time)
        except ValueError:
            problems.append(f'sinceTime: Invalid value: "{since_time}": not an RFC 3339 time')
    elif since_seconds is not None:
        since_ns = time.time_ns() - since_seconds * 1_000_000_000
    if problems:
        raise Invalid(f'PodLogOptions "" is invalid: {", ".join(problems)}', kind="PodLogOptions")
    return LogOptions(
        follow=_bool(request, "follow"),
        timestamps=_bool(request, "timestamps"),
        since_ns=since_ns,
        tail_lines=tail_lines,
        limit_bytes=limit_bytes,
    )


async def pod_log(request: web.Request) -> web.StreamResponse:
    """``GET .../pods/{name}/log``: chunked text/plain; with follow, until the container ends."""
    kubelet = _kubelet(request)
    namespace = request.match_info["namespace"]
    name = request.match_info["name"]
    options = log_options(request)
    source = kubelet.log_source(
        namespace,
        name,
        request.query.get("container"),
        previous=_bool(request, "previous"),
    )
    response = web.StreamResponse(headers={hdrs.CONTENT_TYPE: "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    faults = request.app.get(FAULTS_KEY)
    cut_after = break_after = None
    if faults is not None and options.follow:
        cut_after, break_after = faults.log_disconnect_after_bytes, faults.log_break_after_bytes
    sent = 0
    async for chunk in _log_chunks(source, options):
        if break_after is not None and sent + len(chunk) >= break_after:
            await response.write(chunk[: break_after - sent])
            # the connection drops with no last chunk, as when a proxy between fails: the
            # client's read of the body fails where a cut (below) ends it cleanly
            if request.transport is not None:
                request.transport.abort()
            return response
        if cut_after is not None and sent + len(chunk) >= cut_after:
            await response.write(chunk[: cut_after - sent])
            break
        await response.write(chunk)
        sent += len(chunk)
    await response.write_eof()
    return response


async def _log_chunks(source: LogSource, options: LogOptions) -> AsyncIterator[bytes]:
    if source.path is None:
        text = render_text(source.records, options)
        if text:
            yield text
        return
    async for chunk in read_log(source.path, options, live=source.live):
        yield chunk


async def pod_exec(request: web.Request) -> web.StreamResponse:
    """``.../pods/{name}/exec``: a websocket (GET); the SPDY fallback (POST) gets a Status."""
    kubelet = _kubelet(request)
    namespace = request.match_info["namespace"]
    name = request.match_info["name"]
    command = request.query.getall("command", [])
    stdin = _bool(request, "stdin")
    stdout = _bool(request, "stdout")
    stderr = _bool(request, "stderr")
    tty = _bool(request, "tty")
    if not command:
        raise BadRequest("you must specify at least 1 command")
    if not (stdin or stdout or stderr):
        raise BadRequest("you must specify at least one of stdin, stdout, stderr")
    if tty and stderr:
        stderr = False  # a terminal has one output stream
    target = kubelet.exec_target(namespace, name, request.query.get("container"))
    if request.method != "GET":
        raise BadRequest(
            "kubesim serves exec over websockets only (subprotocols "
            f"{', '.join(PROTOCOLS)}); SPDY upgrades are not supported"
        )
    if request.headers.get(hdrs.UPGRADE, "").lower() != "websocket":
        raise BadRequest("Upgrade request required")
    protocol = choose_protocol(request.headers.get(hdrs.SEC_WEBSOCKET_PROTOCOL))
    if protocol is None:
        raise BadRequest(
            "unable to upgrade: none of the offered subprotocols "
            f"({request.headers.get(hdrs.SEC_WEBSOCKET_PROTOCOL, '')!r}) is supported; "
            f"kubesim speaks {', '.join(PROTOCOLS)}"
        )
    ws = web.WebSocketResponse(protocols=(protocol,), compress=False, max_msg_size=0)
    await ws.prepare(request)
    faults = request.app.get(FAULTS_KEY)
    result = await run_exec(
        ws,
        protocol,
        ExecRequest(
            argv=target.path_map.map_argv(command),
            cwd=target.cwd,
            env=target.env,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            tty=tty,
        ),
        cut_after_bytes=faults.exec_cut_after_bytes if faults is not None else None,
    )
    log.debug("exec in %s/%s ended: %s", namespace, name, result.status.get("status"))
    return ws
