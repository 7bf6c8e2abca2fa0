"""Handlers for stored resources: get, list, watch, create, update, patch, delete, status."""

from __future__ import annotations

import json
import logging
from typing import Any

import yaml
from aiohttp import web

from kubesim import kinds
from kubesim.appkeys import KUBELET_KEY
from kubesim.errors import BadRequest, Forbidden, Invalid, MethodNotAllowed, NotFound
from kubesim.kinds import Kind, is_custom_resource
from kubesim.server import mutation, paging, protobuf, tables, watching
from kubesim.server.responses import dumps, json_response
from kubesim.server.routing import RequestInfo
from kubesim.server.state import INFO_KEY, STATE_KEY, ServerState

log = logging.getLogger(__name__)
__all__ = ["dumps", "handle", "json_response", "namespace_of", "not_served", "read_json"]


def not_served() -> NotFound:
    return NotFound("the server could not find the requested resource")


async def read_json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        raise BadRequest("the request body is empty")
    if request.content_type == protobuf.MEDIA_TYPE:
        return protobuf.decode(raw)
    try:
        return json.loads(raw)
    except ValueError as e:
        raise BadRequest(f"the request body is not JSON: {e}") from e


def namespace_of(info: RequestInfo, kind: Kind) -> str | None:
    if kind.namespaced:
        return info.namespace or None
    if info.namespace:
        raise not_served()
    return None


async def handle(request: web.Request) -> web.StreamResponse:
    """Every /api and /apis request about a stored kind lands here."""
    state = request.app[STATE_KEY]
    info = request[INFO_KEY]
    kind = info.kind
    if kind is None or not state.serves(kind) or kind.virtual:
        raise not_served()
    if info.subresource:
        if info.subresource != "status" or "status" not in kind.subresources:
            raise not_served()
        return await _status(request, state, info, kind)
    namespace = namespace_of(info, kind)
    if info.verb == "get":
        obj = state.store.get(kind, info.name, namespace=namespace)
        return _maybe_table(request, kind, obj)
    if info.verb == "list":
        return _list(request, state, kind, namespace)
    if info.verb == "watch":
        return await watching.watch(request, state, kind, namespace)
    if info.verb == "create":
        if kind.namespaced and not namespace:
            raise MethodNotAllowed(
                "the server does not allow this method on the requested resource"
            )
        return await _create(request, state, kind, namespace)
    if info.verb == "update":
        body = await read_json(request)
        _check_identity(body, kind, info.name, namespace)
        stored = state.store.get(kind, info.name, namespace=namespace)
        _keep_status(kind, stored, body)
        return json_response(state.store.replace(kind, body))
    if info.verb == "patch":
        if request.content_type == mutation.APPLY_PATCH:
            return await _apply(request, state, kind, info.name, namespace)
        stored = state.store.get(kind, info.name, namespace=namespace)
        patched = mutation.apply_patch(kind, request.content_type, stored, await read_json(request))
        _check_identity(patched, kind, info.name, namespace)
        _keep_status(kind, stored, patched)
        return json_response(state.store.replace(kind, patched))
    if info.verb == "delete":
        grace = await _grace_period(request)
        kubelet = request.app.get(KUBELET_KEY)
        if kind == kinds.PODS and kubelet is not None and namespace is not None:
            # The kubelet stops the containers first; the object goes when they are gone.
            return json_response(
                kubelet.delete_pod(namespace, info.name, grace_period_seconds=grace)
            )
        obj = state.store.delete(kind, info.name, namespace=namespace)
        if kind.returns_deleted or kind == kinds.NAMESPACES:
            # A namespace answers with itself, Terminating, while it is finalized.
            return json_response(obj)
        return json_response(deleted_status(kind, obj))
    if info.verb == "deletecollection":
        return _delete_collection(request, state, kind, namespace)
    raise MethodNotAllowed("the server does not allow this method on the requested resource")


def deleted_status(kind: Kind, obj: dict[str, Any]) -> dict[str, Any]:
    """What a registry without ``ReturnDeletedObject`` answers: details name the resource
    (plural) in ``kind``, as finalizeDelete in the apiserver's generic registry does."""
    meta = obj["metadata"]
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {
            "name": meta["name"],
            "group": kind.group,
            "kind": kind.plural,
            "uid": meta.get("uid", ""),
        },
    }


def _keep_status(kind: Kind, stored: dict[str, Any], new: dict[str, Any]) -> None:
    """Where a kind has a /status subresource, its status changes only through it."""
    if "status" not in kind.subresources:
        return
    if "status" in stored:
        new["status"] = stored["status"]
    else:
        new.pop("status", None)


async def _grace_period(request: web.Request) -> float | None:
    """gracePeriodSeconds from DeleteOptions (body or query). propagationPolicy is accepted
    and has no effect: dependents are always collected."""
    raw = await request.read()
    value: Any = request.query.get("gracePeriodSeconds")
    if raw.strip():
        try:
            options = json.loads(raw)
        except ValueError:
            options = None
        if isinstance(options, dict) and options.get("gracePeriodSeconds") is not None:
            value = options["gracePeriodSeconds"]
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError) as e:
        raise BadRequest(f"gracePeriodSeconds {value!r} is not a number") from e


def _check_identity(body: Any, kind: Kind, name: str, namespace: str | None) -> None:
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    meta = body.setdefault("metadata", {})
    if meta.get("name", name) != name:
        raise BadRequest(
            f"the name of the object ({meta.get('name')}) does not match the name on the URL "
            f"({name})"
        )
    meta["name"] = name
    if kind.namespaced:
        if meta.get("namespace", namespace) != namespace:
            raise BadRequest(
                "the namespace of the provided object does not match the namespace sent on the "
                "request"
            )
        meta["namespace"] = namespace


async def _create(
    request: web.Request, state: ServerState, kind: Kind, namespace: str | None
) -> web.Response:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    if body.get("kind", kind.kind) != kind.kind:
        raise BadRequest(f"the object kind {body.get('kind')!r} does not match {kind.kind!r}")
    meta = body.setdefault("metadata", {})
    if kind.namespaced:
        if meta.get("namespace", namespace) != namespace:
            raise BadRequest(
                "the namespace of the provided object does not match the namespace sent on the "
                "request"
            )
        meta["namespace"] = namespace
    if kind == kinds.PODS:
        body.pop("status", None)
        mutation.default_pod(body)
        _check_service_account(state, body)
    if _dry_run(request):
        return json_response(body, status=201)
    created = state.store.create(kind, body)
    return json_response(created, status=201)


async def _apply(
    request: web.Request, state: ServerState, kind: Kind, name: str, namespace: str | None
) -> web.Response:
    """Server-side apply, simplified: a missing object is created from the applied
    configuration (201); an existing one gets it merged in as a strategic merge patch (a JSON
    merge patch for custom resources). No managedFields, no conflicts between managers."""
    if not request.query.get("fieldManager"):
        raise Invalid(
            'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required '
            "for apply patch",
            kind="PatchOptions",
        )
    try:
        body = yaml.safe_load(await request.read())
    except yaml.YAMLError as e:
        raise BadRequest("error decoding YAML: the applied configuration is not valid") from e
    if not isinstance(body, dict) or body.get("kind") != kind.kind:
        raise BadRequest(f"the applied configuration must be a {kind.kind} object")
    _check_identity(body, kind, name, namespace)
    try:
        stored = state.store.get(kind, name, namespace=namespace)
    except NotFound:
        body.pop("status", None)
        if kind == kinds.PODS:
            mutation.default_pod(body)
            _check_service_account(state, body)
        if _dry_run(request):
            return json_response(body, status=201)
        return json_response(state.store.create(kind, body), status=201)
    body["metadata"].pop("resourceVersion", None)
    media = mutation.MERGE_PATCH if is_custom_resource(kind) else mutation.STRATEGIC_PATCH
    patched = mutation.apply_patch(kind, media, stored, body)
    _keep_status(kind, stored, patched)
    if _dry_run(request):
        return json_response(patched)
    return json_response(state.store.replace(kind, patched))


def _dry_run(request: web.Request) -> bool:
    return bool(request.query.getall("dryRun", []))


def _check_service_account(state: ServerState, pod: dict[str, Any]) -> None:
    namespace = pod["metadata"]["namespace"]
    account = pod["spec"]["serviceAccountName"]
    try:
        state.store.get(kinds.SERVICE_ACCOUNTS, account, namespace=namespace)
    except NotFound as e:
        if state.store.list(kinds.NAMESPACES, field_selector=f"metadata.name={namespace}"):
            raise Forbidden(
                f'pods "{pod["metadata"].get("name") or pod["metadata"].get("generateName", "")}" '
                f"is forbidden: error looking up service account {namespace}/{account}: "
                f'serviceaccount "{account}" not found',
                kind="pods",
            ) from e


async def _status(
    request: web.Request, state: ServerState, info: RequestInfo, kind: Kind
) -> web.Response:
    namespace = namespace_of(info, kind)
    stored = state.store.get(kind, info.name, namespace=namespace)
    if info.verb == "get":
        return json_response(stored)
    if info.verb == "update":
        body = await read_json(request)
        _check_identity(body, kind, info.name, namespace)
        stored["status"] = body.get("status")
        sent_rv = body["metadata"].get("resourceVersion")
        if sent_rv:
            stored["metadata"]["resourceVersion"] = sent_rv
        else:
            stored["metadata"].pop("resourceVersion", None)
    elif info.verb == "patch":
        patched = mutation.apply_patch(kind, request.content_type, stored, await read_json(request))
        stored["status"] = patched.get("status")
    else:
        raise MethodNotAllowed("the server does not allow this method on the requested resource")
    return json_response(state.store.replace(kind, stored))


def _selected(
    request: web.Request, state: ServerState, kind: Kind, namespace: str | None
) -> list[dict[str, Any]]:
    return state.store.list(
        kind,
        namespace=namespace,
        label_selector=request.query.get("labelSelector"),
        field_selector=request.query.get("fieldSelector"),
    )


def _list(
    request: web.Request, state: ServerState, kind: Kind, namespace: str | None
) -> web.Response:
    query = request.query
    limit = paging.parse_limit(query.get("limit"))
    counted = not (query.get("labelSelector") or query.get("fieldSelector"))
    token = query.get("continue")
    if token:
        page = state.pager.next(token, limit=limit, counted=counted)
    else:
        rv = state.store.resource_version
        items = _selected(request, state, kind, namespace)
        page = state.pager.first(items, resource_version=rv, limit=limit, counted=counted)
    if tables.wants_table(request.headers.get("Accept", "")):
        body = tables.table(
            kind, page.items, resource_version=page.resource_version, request=request
        )
    else:
        body = {
            "kind": kind.list_kind,
            "apiVersion": kind.api_version,
            "metadata": {"resourceVersion": page.resource_version},
            "items": page.items,
        }
    if page.continue_token is not None:
        body["metadata"]["continue"] = page.continue_token
    if page.remaining is not None:
        body["metadata"]["remainingItemCount"] = page.remaining
    return json_response(body)


def _maybe_table(request: web.Request, kind: Kind, obj: dict[str, Any]) -> web.Response:
    if tables.wants_table(request.headers.get("Accept", "")):
        rv = obj["metadata"].get("resourceVersion", "")
        return json_response(tables.table(kind, [obj], resource_version=rv, request=request))
    return json_response(obj)


def _delete_collection(
    request: web.Request, state: ServerState, kind: Kind, namespace: str | None
) -> web.Response:
    deleted = []
    for obj in _selected(request, state, kind, namespace):
        meta = obj["metadata"]
        try:
            deleted.append(state.store.delete(kind, meta["name"], namespace=meta.get("namespace")))
        except NotFound:
            continue  # already collected through a cascade
    return json_response(
        {
            "kind": kind.list_kind,
            "apiVersion": kind.api_version,
            "metadata": {"resourceVersion": state.store.resource_version},
            "items": deleted,
        }
    )
