"""One namespace as ``oc adm inspect namespace/<name>`` writes it.

From openshift/oc ``pkg/cli/admin/inspect/namespace.go`` and ``pod.go``:
``namespaces/<ns>/<ns>.yaml``; each pod's ``pods/<pod>/<pod>.yaml`` and, for each container
(then each init container), ``pods/<pod>/<container>/<container>/logs/current.log`` and
``previous.log`` (with timestamps; a container that never restarted has no previous log and
that is not an error); then one list file ``<group or core>/<resource>.yaml`` for each type of
``namespaceResourcesToCollect`` that the server serves, the ``all`` category expanded as
kubectl expands it. A list the server does not serve is skipped; one that fails is an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from must_gather_api.executors.kubernetes.errors import ClusterCallFailed
from must_gather_api.executors.kubernetes.inspect_discovery import Served

if TYPE_CHECKING:
    from must_gather_api.executors.kubernetes.inspecting import Inspector

# namespace.go: namespaceResourcesToCollect, in its order (group "" means kubectl resolves it).
RESOURCES_TO_COLLECT: tuple[tuple[str, str], ...] = (
    ("", "all"),
    ("", "configmaps"),
    ("", "egressfirewalls"),
    ("", "egressqoses"),
    ("", "events"),
    ("", "endpoints"),
    ("", "endpointslices"),
    ("", "networkpolicies"),
    ("", "persistentvolumeclaims"),
    ("", "poddisruptionbudgets"),
    ("", "secrets"),
    ("", "servicemonitors"),
    ("", "userdefinednetworks"),
    ("networking.k8s.io", "ingresses"),
)
_NO_PREVIOUS = "previous terminated container"


def resolve(inspector: Inspector, group: str, resource: str) -> list[Served]:
    """The served types a name stands for: the ``all`` category's members, or the one type
    (a bare name resolves to the core group first, as kubectl's REST mapper does)."""
    served = inspector.served
    if resource == "all" and not group:
        return served.category("all")
    if group:
        found = served.named(group, resource)
        return [found] if found else []
    candidates = [s for s in served.all if s.resource == resource]
    candidates.sort(key=lambda s: s.group != "")
    return candidates[:1]


async def gather_namespace(inspector: Inspector, name: str) -> None:
    inspector.console.out(f"Gathering data for ns/{name}...")
    base = f"namespaces/{name}"
    obj = await inspector.get(f"/api/v1/namespaces/{name}", f"read namespace {name}")
    if obj is None:
        return
    await inspector.write(f"{base}/{name}.yaml", {"apiVersion": "v1", "kind": "Namespace", **obj})
    pods = await inspector.get(f"/api/v1/namespaces/{name}/pods", f"list pods in {name}")
    for pod in (pods or {}).get("items") or []:
        await gather_pod(inspector, base, {"apiVersion": "v1", "kind": "Pod", **pod})
    for group, resource in RESOURCES_TO_COLLECT:
        for served in resolve(inspector, group, resource):
            await write_namespace_list(inspector, name, served)


async def write_namespace_list(inspector: Inspector, namespace: str, served: Served) -> None:
    key = f"{namespace}/{served.group}/{served.resource}/*"
    if not inspector.first_visit(key):
        return
    await inspector.write_list(
        f"namespaces/{namespace}/{served.folder}/{served.resource}.yaml",
        served,
        f"{served.api_path}/namespaces/{namespace}/{served.resource}",
        f"list {served.resource} in {namespace}",
    )


async def gather_pod(inspector: Inspector, base: str, pod: dict[str, Any]) -> None:
    meta = pod["metadata"]
    name = str(meta["name"])
    folder = f"{base}/pods/{name}"
    await inspector.write(f"{folder}/{name}.yaml", pod)
    spec = pod.get("spec") or {}
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        cname = str(container["name"])
        logs = f"{folder}/{cname}/{cname}/logs"
        await _log(inspector, pod, cname, f"{logs}/current.log", previous=False)
        await _log(inspector, pod, cname, f"{logs}/previous.log", previous=True)


async def _log(
    inspector: Inspector, pod: dict[str, Any], container: str, relative: str, *, previous: bool
) -> None:
    meta = pod["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    which = "previous log" if previous else "log"
    query: dict[str, Any] = {"container": container, "timestamps": "true"}
    if previous:
        query["previous"] = "true"
    try:
        text = await inspector.calls.request(
            "GET",
            f"/api/v1/namespaces/{namespace}/pods/{name}/log",
            what=f"read the {which} of {name}/{container}",
            query=query,
        )
    except ClusterCallFailed as e:
        if previous and _NO_PREVIOUS in str(e.reason):
            return
        inspector.failed(e.reason)
        return
    await inspector.write_text(relative, text if isinstance(text, str) else str(text))
