"""The aiohttp application: routes, and the middleware for errors, faults, users and RBAC."""

from __future__ import annotations

import asyncio
import importlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from kubesim import discovery, nodelogs_proxy
from kubesim.appkeys import FAULTS_KEY, STORE_KEY, USERS_KEY
from kubesim.auth import ANONYMOUS, AuditRecord, User
from kubesim.errors import (
    Forbidden,
    KubesimError,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
)
from kubesim.faults import ApiErrorRule
from kubesim.server import admin, resources, reviews
from kubesim.server.routing import resolve
from kubesim.server.state import INFO_KEY, STATE_KEY, USER_KEY, ServerState

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_PUBLIC_PATHS = {"/version", "/healthz", "/livez", "/readyz"}
_FAULT_REASONS = {
    403: "Forbidden",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
}


def status_response(error: KubesimError) -> web.Response:
    headers = {"Cache-Control": "no-cache, private"}
    return web.Response(
        body=resources.dumps(error.status()),
        status=error.code,
        content_type="application/json",
        headers=headers,
    )


def _fault_response(rule: ApiErrorRule) -> web.Response:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"kubesim fault: injected {rule.status}",
        "reason": _FAULT_REASONS.get(rule.status, "InternalError"),
        "code": rule.status,
    }
    headers = {}
    if rule.retry_after is not None:
        headers["Retry-After"] = str(rule.retry_after)
        body["details"] = {"retryAfterSeconds": rule.retry_after}
    return web.Response(
        body=resources.dumps(body),
        status=rule.status,
        content_type="application/json",
        headers=headers,
    )


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure leaves as a Kubernetes Status object."""
    try:
        return await handler(request)
    except KubesimError as e:
        return status_response(e)
    except web.HTTPNotFound:
        return status_response(NotFound("the server could not find the requested resource"))
    except web.HTTPMethodNotAllowed:
        return status_response(
            MethodNotAllowed("the server does not allow this method on the requested resource")
        )
    except (asyncio.CancelledError, web.HTTPException):
        raise
    except Exception as e:
        log.exception("kubesim: %s %s failed", request.method, request.path)
        return status_response(KubesimError(f"internal error: {type(e).__name__}: {e}"))


def _bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Faults, then authentication, audit and authorization, in kube-apiserver's order."""
    state = request.app[STATE_KEY]
    faults = state.faults
    if faults.latency_seconds > 0:
        await asyncio.sleep(faults.latency_seconds)
    token = _bearer_token(request)
    user: User | None = state.users.authenticate(token) if token is not None else ANONYMOUS
    if not request.path.startswith("/kubesim/"):
        # a fault answers before authentication refuses, as a failing server would
        rule = faults.pick_api_error(request.path, user.name if user is not None else None)
        if rule is not None:
            return _fault_response(rule)
    if user is None or (user is ANONYMOUS and request.path.rstrip("/") not in _PUBLIC_PATHS):
        raise Unauthorized("Unauthorized")
    info = resolve(request.method, request.path, request.query)
    request[INFO_KEY] = info
    request[USER_KEY] = user
    state.audit.append(
        AuditRecord(
            info.verb,
            info.group,
            info.resource,
            info.subresource,
            info.namespace,
            info.name if info.is_resource else info.path,
            user.name,
        )
    )
    if user is not ANONYMOUS:
        attrs = info.attributes()
        allowed, _ = state.authorizer.allowed(user, attrs)
        if not allowed:
            raise Forbidden(
                attrs.forbidden_message(user.name),
                kind=info.resource,
                name=info.name,
                group=info.group,
            )
    return await handler(request)


# -- discovery ------------------------------------------------------------------------------


async def _version(_request: web.Request) -> web.Response:
    return resources.json_response(discovery.version())


async def _healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


def _aggregated(request: web.Request, *, core: bool) -> web.Response | None:
    if not discovery.wants_aggregated(request.headers.get("Accept", "")):
        return None
    body = discovery.aggregated(request.app[STATE_KEY].served, core=core)
    return web.Response(
        body=resources.dumps(body),
        headers={"Content-Type": discovery.AGGREGATED_CONTENT_TYPE, "Vary": "Accept"},
    )


async def _api(request: web.Request) -> web.Response:
    return _aggregated(request, core=True) or resources.json_response(
        discovery.api_versions(request.app[STATE_KEY].address)
    )


async def _apis(request: web.Request) -> web.Response:
    return _aggregated(request, core=False) or resources.json_response(
        discovery.api_group_list(request.app[STATE_KEY].served)
    )


async def _api_v1(request: web.Request) -> web.Response:
    body = discovery.api_resource_list(request.app[STATE_KEY].served, "", "v1")
    assert body is not None
    return resources.json_response(body)


async def _api_group(request: web.Request) -> web.Response:
    body = discovery.api_group(request.app[STATE_KEY].served, request.match_info["group"])
    if body is None:
        raise resources.not_served()
    return resources.json_response(body)


async def _api_group_version(request: web.Request) -> web.Response:
    body = discovery.api_resource_list(
        request.app[STATE_KEY].served, request.match_info["group"], request.match_info["version"]
    )
    if body is None:
        raise resources.not_served()
    return resources.json_response(body)


async def _openapi_v3(request: web.Request) -> web.Response:
    return resources.json_response(discovery.openapi_v3_index(request.app[STATE_KEY].served))


async def _openapi_v3_gv(request: web.Request) -> web.Response:
    served = request.app[STATE_KEY].served
    body = discovery.openapi_v3_group_version(served, request.match_info["gv"])
    if body is None:
        raise resources.not_served()
    return resources.json_response(body)


async def _dispatch(request: web.Request) -> web.StreamResponse:
    info = request[INFO_KEY]
    if not info.is_resource:
        raise resources.not_served()
    if info.kind is not None and info.kind.virtual:
        return await reviews.handle(request)
    return await resources.handle(request)


def _stream_handlers() -> tuple[Handler, Handler]:
    """The kubelet's log and exec handlers, or stand-ins that say there is no kubelet."""
    try:
        streams = importlib.import_module("kubesim.streams")
        return streams.pod_log, streams.pod_exec
    except ImportError:
        log.warning("kubesim.streams is missing: pods/log and pods/exec answer 404")

    async def missing(_request: web.Request) -> web.StreamResponse:
        raise NotFound("this kubesim has no kubelet to stream from")

    return missing, missing


async def _on_shutdown(app: web.Application) -> None:
    app[STATE_KEY].close_watches()


async def _standard_headers(_request: web.Request, response: web.StreamResponse) -> None:
    """The headers kube-apiserver's filters put on every answer: an ``Audit-Id`` per request
    (WithAuditInit) and ``Cache-Control: no-cache, private`` (WithCacheControl)."""
    response.headers.setdefault("Audit-Id", str(uuid.uuid4()))
    response.headers.setdefault("Cache-Control", "no-cache, private")


def build_app(state: ServerState, *, kubelet: Any = None) -> web.Application:
    """The API server application; ``kubelet`` is stored for the stream handlers when given."""
    app = web.Application(middlewares=[errors_middleware, api_middleware])
    app[STATE_KEY] = state
    app[STORE_KEY] = state.store
    app[FAULTS_KEY] = state.faults
    app[USERS_KEY] = state.users
    if kubelet is not None:
        from kubesim.appkeys import KUBELET_KEY

        app[KUBELET_KEY] = kubelet
    pod_log, pod_exec = _stream_handlers()
    r = app.router
    for path in ("/version", "/version/"):
        r.add_get(path, _version)
    for path in ("/healthz", "/livez", "/readyz"):
        r.add_get(path, _healthz)
    for path, handler in (
        ("/api", _api),
        ("/apis", _apis),
        ("/api/v1", _api_v1),
        ("/apis/{group}", _api_group),
        ("/apis/{group}/{version}", _api_group_version),
    ):
        r.add_get(path, handler)
        r.add_get(path + "/", handler)
    r.add_get("/openapi/v3", _openapi_v3)
    r.add_get("/openapi/v3/", _openapi_v3)
    r.add_get("/openapi/v3/{gv:.+}", _openapi_v3_gv)
    pod_path = "/api/v1/namespaces/{namespace}/pods/{name}"
    r.add_get(pod_path + "/log", pod_log)
    r.add_get(pod_path + "/exec", pod_exec)
    r.add_post(pod_path + "/exec", pod_exec)
    r.add_get("/api/v1/nodes/{name}/proxy/logs/{rest:.*}", nodelogs_proxy.node_logs)
    r.add_get("/kubesim/faults", admin.get_faults)
    r.add_post("/kubesim/faults", admin.post_faults)
    r.add_delete("/kubesim/faults", admin.delete_faults)
    r.add_route("*", "/api/{tail:.+}", _dispatch)
    r.add_route("*", "/apis/{tail:.+}", _dispatch)
    app.on_shutdown.append(_on_shutdown)
    app.on_response_prepare.append(_standard_headers)
    return app
