"""A read-only Kubernetes API over a gathering's archive: `/must-gather/{reference}/kube`.

Point `kubectl` at it (`must-gather-api kubeconfig ID` writes the kubeconfig): discovery of
the types the archive holds, get and list (namespace, label and field selectors), tables
for `kubectl get`, and pod logs (`--previous`, `--tail`, `--timestamps`). Every write is
refused with a Kubernetes `Status` 405. Same authentication and scoping as `/data`.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from must_gather_api import __version__
from must_gather_api.api.deps import CallerDep, ServicesDep
from must_gather_api.api.scoping import archive_of, find_visible
from must_gather_api.archive.index import ArchiveIndex
from must_gather_api.archive.seekable import read_span
from must_gather_api.kubeview import selectors
from must_gather_api.kubeview.objects import ArchiveObjects, ResourceType
from must_gather_api.kubeview.tables import table

router = APIRouter(prefix="/must-gather", tags=["archive contents"])
_WRITES = ["POST", "PUT", "PATCH", "DELETE"]
_TIMESTAMP = re.compile(rb"^\d{4}-\d\d-\d\dT[\d:.]+Z ")


def status(code: int, reason: str, message: str, **details: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=code)


def _not_found(kind_type: ResourceType, name: str) -> JSONResponse:
    message = f'{kind_type.plural} "{name}" not found'
    return status(404, "NotFound", message, name=name, kind=kind_type.plural)


def _discovery(objects: ArchiveObjects, parts: list[str]) -> dict[str, Any] | None:
    if parts == ["api"]:
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    if parts == ["apis"]:
        groups: dict[str, set[str]] = {}
        for kind_type in objects.types.values():
            if kind_type.group:
                groups.setdefault(kind_type.group, set()).add(kind_type.version)
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [
                {
                    "name": group,
                    "versions": [
                        {"groupVersion": f"{group}/{v}", "version": v} for v in sorted(vs)
                    ],
                    "preferredVersion": {"groupVersion": f"{group}/{max(vs)}", "version": max(vs)},
                }
                for group, vs in sorted(groups.items())
            ],
        }
    if parts == ["version"]:
        return {"major": "1", "minor": "32", "gitVersion": f"v1.32.0+must-gather-api-{__version__}"}
    group, version = (
        ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2] if len(parts) > 2 else "")
    )
    if (parts[0] == "api" and len(parts) == 2) or (parts[0] == "apis" and len(parts) == 3):
        resources = [
            t.describe() for t in objects.types.values() if (t.group, t.version) == (group, version)
        ]
        if not resources:
            return None
        if (group, "pods") in objects.types:
            resources.append(
                {"name": "pods/log", "namespaced": True, "kind": "Pod", "verbs": ["get"]}
            )
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources,
        }
    return None


def _log(
    objects: ArchiveObjects, index: ArchiveIndex, archive: Path, request: Request, ns: str, pod: str
) -> Response:
    query = request.query_params
    kind_type = objects.find_type("", "pods")
    found = objects.get(kind_type, ns, pod) if kind_type else None
    if kind_type is None or found is None:
        return status(404, "NotFound", f'pods "{pod}" not found', name=pod, kind="pods")
    names = [c.get("name") for c in (found.get("spec") or {}).get("containers") or []]
    container = query.get("container") or (names[0] if len(names) == 1 else "")
    if not container:
        return status(
            400,
            "BadRequest",
            f"a container name must be specified for pod {pod}, choose one of: {names}",
        )
    which = "previous" if query.get("previous") == "true" else "current"
    path = objects.logs.get((ns, pod, container, which)) or objects.logs.get((ns, pod, "", which))
    if path is None:
        what = "previous terminated container" if which == "previous" else "container"
        return status(
            400, "BadRequest", f'{what} "{container}" in pod "{pod}" has no log in the archive'
        )
    member = next(m for m in index.members if m.path == path)
    with archive.open("rb") as file:
        data = b"".join(read_span(file, index.checkpoints, member.offset, member.size))
    lines = data.splitlines(keepends=True)
    if query.get("timestamps") != "true":
        lines = [_TIMESTAMP.sub(b"", line, count=1) for line in lines]
    tail = query.get("tailLines")
    if tail and tail.lstrip("-").isdigit() and int(tail) >= 0:
        lines = lines[len(lines) - int(tail) :] if int(tail) else []
    return Response(b"".join(lines), media_type="text/plain")


def _objects(objects: ArchiveObjects, request: Request, parts: list[str]) -> Response:
    """get or list: [api, v1 | apis, group, version] [namespaces, ns] resource [name]."""
    base = 2 if parts[0] == "api" else 3
    group = "" if parts[0] == "api" else parts[1]
    rest = parts[base:]
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 2:
        return status(404, "NotFound", "the server could not find the requested resource")
    kind_type = objects.find_type(group, rest[0])
    if kind_type is None:
        return status(404, "NotFound", "the server could not find the requested resource")
    as_table = "as=Table" in request.headers.get("accept", "")
    include = request.query_params.get("includeObject", "Metadata")
    if len(rest) == 2:
        found = objects.get(kind_type, namespace or "", rest[1])
        if found is None:
            return _not_found(kind_type, rest[1])
        return JSONResponse(table(kind_type.kind, [found], include=include) if as_table else found)
    try:
        labels = selectors.label_selector(request.query_params.get("labelSelector"))
        fields = selectors.field_selector(request.query_params.get("fieldSelector"))
    except selectors.BadSelector as e:
        return status(400, "BadRequest", str(e))
    items = [o for o in objects.items(kind_type, namespace) if labels(o) and fields(o)]
    if as_table:
        return JSONResponse(table(kind_type.kind, items, include=include))
    return JSONResponse(
        {
            "kind": f"{kind_type.kind}List",
            "apiVersion": kind_type.group_version,
            "metadata": {"resourceVersion": "1"},
            "items": items,
        }
    )


@router.api_route(
    "/{reference}/kube/{rest:path}",
    methods=["GET", *_WRITES],
    include_in_schema=False,
)
async def kube(
    reference: str, rest: str, request: Request, caller: CallerDep, services: ServicesDep
) -> Response:
    gathering = await find_visible(reference, caller, services)
    archive = await archive_of(gathering, services)
    if request.method != "GET":
        return status(405, "MethodNotAllowed", "this API serves an archive: it is read-only")
    index, objects = await services.kube_views.get(gathering.id)
    parts = [p for p in rest.split("/") if p]
    if not parts or parts[0] not in ("api", "apis", "version"):
        return status(404, "NotFound", "the server could not find the requested resource")
    discovered = _discovery(objects, parts) if len(parts) <= 3 else None
    if discovered is not None:
        return JSONResponse(discovered)
    if len(parts) == 7 and (parts[0], parts[2], parts[4], parts[6]) == (
        "api",
        "namespaces",
        "pods",
        "log",
    ):
        return await asyncio.to_thread(_log, objects, index, archive, request, parts[3], parts[5])
    if len(parts) >= (3 if parts[0] == "api" else 4):
        return await asyncio.to_thread(_objects, objects, request, parts)
    return status(404, "NotFound", "the server could not find the requested resource")
