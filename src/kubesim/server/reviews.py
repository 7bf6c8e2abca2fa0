"""Resources the server answers itself: token and access reviews, and imagestreamtags."""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import web

from kubesim import kinds
from kubesim.auth import User
from kubesim.errors import BadRequest, MethodNotAllowed, NotFound
from kubesim.rbac import Attributes
from kubesim.server.resources import json_response, namespace_of, not_served, read_json
from kubesim.server.state import INFO_KEY, STATE_KEY, USER_KEY, ServerState

INTERNAL_REGISTRY = "image-registry.openshift-image-registry.svc:5000"


async def handle(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    info = request[INFO_KEY]
    kind = info.kind
    if kind is None or not state.serves(kind) or info.subresource:
        raise not_served()
    if kind == kinds.IMAGE_STREAM_TAGS:
        return _image_stream_tags(request, state)
    if info.verb != "create":
        raise MethodNotAllowed("the server does not allow this method on the requested resource")
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    spec = body.get("spec") or {}
    user = request[USER_KEY]
    if kind == kinds.TOKEN_REVIEWS:
        status = _token_review(state, spec)
    elif kind == kinds.SUBJECT_ACCESS_REVIEWS:
        subject = User(
            str(spec.get("user", "")), tuple(spec.get("groups") or ()), spec.get("uid", "")
        )
        status = _access_review(state, subject, spec)
    elif kind == kinds.SELF_SUBJECT_ACCESS_REVIEWS:
        status = _access_review(state, user, spec)
    elif kind == kinds.SELF_SUBJECT_REVIEWS:
        status = {"userInfo": _user_info(user)}
    elif kind == kinds.SELF_SUBJECT_RULES_REVIEWS:
        status = {"resourceRules": [], "nonResourceRules": [], "incomplete": True}
    else:
        raise not_served()
    body.update(apiVersion=kind.api_version, kind=kind.kind, status=status)
    body.setdefault("metadata", {}).setdefault("creationTimestamp", None)
    return json_response(body, status=201)


def _user_info(user: User) -> dict[str, Any]:
    info: dict[str, Any] = {"username": user.name, "groups": list(user.groups)}
    if user.uid:
        info["uid"] = user.uid
    return info


def _token_review(state: ServerState, spec: dict[str, Any]) -> dict[str, Any]:
    reviewed = state.users.authenticate(str(spec.get("token", "")))
    audiences = list(spec.get("audiences") or [])
    if reviewed is None:
        return {"authenticated": False, "user": {}, "error": "invalid bearer token"}
    status: dict[str, Any] = {"authenticated": True, "user": _user_info(reviewed)}
    if audiences:
        status["audiences"] = audiences
    return status


def _access_review(state: ServerState, subject: User, spec: dict[str, Any]) -> dict[str, Any]:
    resource = spec.get("resourceAttributes")
    non_resource = spec.get("nonResourceAttributes")
    if resource:
        attrs = Attributes(
            verb=str(resource.get("verb", "")),
            group=str(resource.get("group", "")),
            resource=str(resource.get("resource", "")),
            subresource=str(resource.get("subresource", "")),
            namespace=str(resource.get("namespace", "")),
            name=str(resource.get("name", "")),
        )
    elif non_resource:
        attrs = Attributes(
            verb=str(non_resource.get("verb", "")), path=str(non_resource.get("path", ""))
        )
    else:
        raise BadRequest(
            "exactly one of nonResourceAttributes or resourceAttributes must be specified"
        )
    allowed, reason = state.authorizer.allowed(subject, attrs)
    status: dict[str, Any] = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return status


def _digest_of(reference: str) -> str:
    if "@sha256:" in reference:
        return reference.split("@", 1)[1]
    return "sha256:" + hashlib.sha256(reference.encode()).hexdigest()


def _tag_object(stream: dict[str, Any], tag: str) -> dict[str, Any] | None:
    """The ImageStreamTag for one tag of a stream, resolved as OpenShift resolves it."""
    status_tags = (stream.get("status") or {}).get("tags") or []
    event = next((t for t in status_tags if t.get("tag") == tag), None)
    if not event or not event.get("items"):
        return None
    item = event["items"][0]
    spec_tag = next(
        (t for t in (stream.get("spec") or {}).get("tags") or [] if t.get("name") == tag), None
    )
    meta = stream["metadata"]
    digest = item.get("image") or _digest_of(item.get("dockerImageReference", ""))
    reference = item.get("dockerImageReference", "")
    policy = ((spec_tag or {}).get("referencePolicy") or {}).get("type", "Source")
    if policy == "Local":
        repository = (stream.get("status") or {}).get("dockerImageRepository") or (
            f"{INTERNAL_REGISTRY}/{meta['namespace']}/{meta['name']}"
        )
        reference = f"{repository}@{digest}"
    return {
        "kind": "ImageStreamTag",
        "apiVersion": "image.openshift.io/v1",
        "metadata": {
            "name": f"{meta['name']}:{tag}",
            "namespace": meta["namespace"],
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
            "creationTimestamp": item.get("created") or meta.get("creationTimestamp"),
        },
        "tag": spec_tag,
        "generation": item.get("generation", meta.get("generation", 1)),
        "lookupPolicy": (stream.get("spec") or {}).get("lookupPolicy") or {"local": False},
        "image": {
            "metadata": {"name": digest},
            "dockerImageReference": reference,
            "dockerImageMetadata": {"kind": "DockerImage", "apiVersion": "image.openshift.io/1.0"},
        },
    }


def _image_stream_tags(request: web.Request, state: ServerState) -> web.Response:
    info = request[INFO_KEY]
    namespace = namespace_of(info, kinds.IMAGE_STREAM_TAGS)
    if info.verb == "get":
        stream_name, sep, tag = info.name.partition(":")
        if not sep or not tag:
            raise BadRequest(
                f'imagestreamtag name "{info.name}" must be of the form <stream>:<tag>'
            )
        not_found = NotFound(
            f'imagestreamtags.image.openshift.io "{info.name}" not found',
            kind="imagestreamtags",
            name=info.name,
            group="image.openshift.io",
        )
        try:
            stream = state.store.get(kinds.IMAGE_STREAMS, stream_name, namespace=namespace)
        except NotFound as e:
            raise not_found from e
        found = _tag_object(stream, tag)
        if found is None:
            raise not_found
        return json_response(found)
    if info.verb == "list":
        items = []
        for stream in state.store.list(kinds.IMAGE_STREAMS, namespace=namespace):
            for t in (stream.get("status") or {}).get("tags") or []:
                found = _tag_object(stream, t.get("tag", ""))
                if found is not None:
                    items.append(found)
        return json_response(
            {
                "kind": "ImageStreamTagList",
                "apiVersion": "image.openshift.io/v1",
                "metadata": {"resourceVersion": state.store.resource_version},
                "items": items,
            }
        )
    raise MethodNotAllowed("the server does not allow this method on the requested resource")
