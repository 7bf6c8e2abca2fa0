"""Discovery documents: /version, /api, /apis and each group, legacy and aggregated (v2)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import Any

from kubesim import kinds
from kubesim.kinds import Kind

GIT_VERSION = "v1.32.4"
AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

_SUBRESOURCE_VERBS = {
    "status": ("get", "patch", "update"),
    "log": ("get",),
    "exec": ("create", "get"),
    # kube-apiserver lists every verb of the node proxy; kubesim serves GET on .../logs/ only.
    "proxy": ("create", "delete", "get", "patch", "update"),
}
_SUBRESOURCE_KIND = {"exec": "PodExecOptions", "proxy": "NodeProxyOptions"}


def version() -> dict[str, str]:
    return {
        "major": "1",
        "minor": "32",
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-04-22T16:00:00Z",
        "goVersion": "go1.23.6",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def wants_aggregated(accept: str) -> bool:
    """Whether the Accept header asks for apidiscovery.k8s.io/v2 (kubectl 1.30+ does)."""
    return any(
        "g=apidiscovery.k8s.io" in part and "v=v2" in part.replace(" ", "").split(";")
        for part in accept.split(",")
    )


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group_entry(group: str, versions: list[str]) -> dict[str, Any]:
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list(served: Iterable[Kind]) -> dict[str, Any]:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group_entry(g, vs) for g, vs in kinds.groups(served).items()],
    }


def api_group(served: Iterable[Kind], group: str) -> dict[str, Any] | None:
    versions = kinds.groups(served).get(group)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group, versions)}


def storage_version_hash(k: Kind) -> str:
    """What discovery reports for a stored kind: the first 8 bytes of sha256 over
    ``group/version/kind``, base64 (storageversionhash.go in
    k8s.io/apiserver/pkg/endpoints/discovery)."""
    digest = hashlib.sha256(f"{k.group}/{k.version}/{k.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def api_resource_list(served: Iterable[Kind], group: str, version: str) -> dict[str, Any] | None:
    members = [k for k in served if k.group == group and k.version == version]
    if not members:
        return None
    resources: list[dict[str, Any]] = []
    for k in members:
        entry: dict[str, Any] = {
            "name": k.plural,
            "singularName": k.singular_name,
            "namespaced": k.namespaced,
            "kind": k.kind,
            "verbs": list(k.verbs),
        }
        if k.short_names:
            entry["shortNames"] = list(k.short_names)
        if k.categories:
            entry["categories"] = list(k.categories)
        if not k.virtual:
            entry["storageVersionHash"] = storage_version_hash(k)
        resources.append(entry)
        for sub in k.subresources:
            resources.append(
                {
                    "name": f"{k.plural}/{sub}",
                    "singularName": "",
                    "namespaced": k.namespaced,
                    "kind": _SUBRESOURCE_KIND.get(sub, k.kind),
                    "verbs": list(_SUBRESOURCE_VERBS.get(sub, ("get",))),
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def _aggregated_resource(k: Kind) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": k.plural,
        "responseKind": {"group": k.group, "version": k.version, "kind": k.kind},
        "scope": "Namespaced" if k.namespaced else "Cluster",
        "singularResource": k.singular_name,
        "verbs": list(k.verbs),
    }
    if k.short_names:
        entry["shortNames"] = list(k.short_names)
    if k.categories:
        entry["categories"] = list(k.categories)
    if k.subresources:
        entry["subresources"] = [
            {
                "subresource": sub,
                "responseKind": {
                    "group": k.group,
                    "version": k.version,
                    "kind": _SUBRESOURCE_KIND.get(sub, k.kind),
                },
                "verbs": list(_SUBRESOURCE_VERBS.get(sub, ("get",))),
            }
            for sub in k.subresources
        ]
    return entry


def aggregated(served: Iterable[Kind], *, core: bool) -> dict[str, Any]:
    """The APIGroupDiscoveryList for ``/api`` (core) or ``/apis`` (every named group)."""
    served = list(served)
    items: list[dict[str, Any]] = []
    group_names = [""] if core else list(kinds.groups(served))
    for group in group_names:
        versions: list[dict[str, Any]] = []
        for version in dict.fromkeys(k.version for k in served if k.group == group):
            members = [k for k in served if k.group == group and k.version == version]
            versions.append(
                {
                    "version": version,
                    "resources": [_aggregated_resource(k) for k in members],
                    "freshness": "Current",
                }
            )
        items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": versions})
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_v3_index(served: Iterable[Kind]) -> dict[str, Any]:
    """The /openapi/v3 index: one document per group/version."""
    paths: dict[str, Any] = {}
    for k in served:
        key = _gv_path(k.group, k.version)
        paths.setdefault(key, {"serverRelativeURL": f"/openapi/v3/{key}?hash=kubesim-1"})
    return {"paths": paths}


def openapi_v3_group_version(served: Iterable[Kind], gv_path: str) -> dict[str, Any] | None:
    """A minimal OpenAPI v3 document: paths whose PATCH operations carry the GVK extension and
    the ``fieldValidation`` parameter. That is what kubectl checks to leave validation to the
    server (``--validate=strict`` sends ``fieldValidation=Strict``); no schemas are given.
    """
    members = [k for k in served if _gv_path(k.group, k.version) == gv_path.strip("/")]
    if not members:
        return None
    parameters = [
        {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
        for name in ("dryRun", "fieldManager", "fieldValidation")
    ]
    paths: dict[str, Any] = {}
    for k in members:
        if "patch" not in k.verbs:
            continue
        prefix = f"/{gv_path.strip('/')}"
        scope = "/namespaces/{namespace}" if k.namespaced else ""
        gvk = {"group": k.group, "version": k.version, "kind": k.kind}
        operation = {
            "operationId": f"patch{k.kind}",
            "parameters": parameters,
            "responses": {"200": {"description": "OK"}},
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": gvk,
        }
        paths[f"{prefix}{scope}/{k.plural}/{{name}}"] = {"patch": operation}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": paths,
        "components": {"schemas": {}},
    }
