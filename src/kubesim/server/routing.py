"""Turning a request path into what it means: the resource, namespace, name and verb."""

from __future__ import annotations

from dataclasses import dataclass

from multidict import MultiMapping

from kubesim import kinds
from kubesim.kinds import Kind
from kubesim.rbac import Attributes

# GET on these subresources opens a stream that acts, so RBAC asks for "create" (as
# kube-apiserver does for websocket exec since 1.30).
_CREATE_ON_GET = {"exec", "attach", "portforward"}


def truthy(value: str | None) -> bool:
    """Query booleans: kubernetes-asyncio sends ``True``, kubectl ``true``, some ``1``."""
    return (value or "").lower() in ("1", "true")


@dataclass(frozen=True)
class RequestInfo:
    path: str
    verb: str
    is_resource: bool
    group: str = ""
    version: str = ""
    namespace: str = ""
    resource: str = ""
    name: str = ""
    subresource: str = ""
    # None when the resource is unknown to kubesim (the handler answers 404).
    kind: Kind | None = None

    def attributes(self) -> Attributes:
        if not self.is_resource:
            return Attributes(verb=self.verb, path=self.path)
        return Attributes(
            verb=self.verb,
            group=self.group,
            resource=self.resource,
            subresource=self.subresource,
            namespace=self.namespace,
            name=self.name,
        )


def resolve(method: str, path: str, query: MultiMapping[str]) -> RequestInfo:
    """Parses like kube-apiserver's RequestInfoFactory (without the deprecated /watch/ prefix)."""
    clean = "/" + path.strip("/")
    parts = [p for p in clean.split("/") if p]
    non_resource = RequestInfo(path=clean, verb=_non_resource_verb(method), is_resource=False)
    if not parts or parts[0] not in ("api", "apis"):
        return non_resource
    if parts[0] == "api":
        if len(parts) < 3:
            return non_resource
        group, version, rest = "", parts[1], parts[2:]
    else:
        if len(parts) < 4:
            return non_resource
        group, version, rest = parts[1], parts[2], parts[3:]

    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        # /namespaces/{ns} and /namespaces/{ns}/status address the namespace itself.
        if len(rest) > 2 and rest[2] not in ("status", "finalize"):
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if resource == "namespaces":
        namespace = ""

    method = method.upper()
    if method in ("GET", "HEAD"):
        if subresource in _CREATE_ON_GET:
            verb = "create"
        elif name:
            verb = "get"
        else:
            verb = "watch" if truthy(query.get("watch")) else "list"
    elif method == "POST":
        verb = "create"
    elif method == "PUT":
        verb = "update"
    elif method == "PATCH":
        verb = "patch"
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = method.lower()
    return RequestInfo(
        path=clean,
        verb=verb,
        is_resource=True,
        group=group,
        version=version,
        namespace=namespace,
        resource=resource,
        name=name,
        subresource=subresource,
        kind=kinds.lookup(group, version, resource),
    )


def _non_resource_verb(method: str) -> str:
    return {"GET": "get", "HEAD": "get", "POST": "post", "PUT": "put", "DELETE": "delete"}.get(
        method.upper(), method.lower()
    )
