"""``/usr/bin/gather`` of the Forklift stand-in, and what it shares with ``targeted``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kubesim_gather.api import ApiClient, ApiError
from kubesim_gather.container import must_gather_dir, say, warn, write_yaml
from kubesim_gather.inspect import PODS, Resource, containers_of, name_of, typed
from kubesim_gather.packing import pack

GROUP = "forklift.konveyor.io"
VERSION = "v1beta1"
CONTROLLERS = Resource(GROUP, VERSION, "forkliftcontrollers", "ForkliftController")
PLANS = Resource(GROUP, VERSION, "plans", "Plan")
MIGRATIONS = Resource(GROUP, VERSION, "migrations", "Migration")
# Used when discovery of the group fails; the real image lists the group's CRDs.
KNOWN_RESOURCES = (
    CONTROLLERS,
    Resource(GROUP, VERSION, "providers", "Provider"),
    PLANS,
    MIGRATIONS,
)
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-_.A-Za-z0-9]{0,61}[A-Za-z0-9])?$")


def forklift_namespaces(client: ApiClient) -> list[str]:
    """Where Forklift is installed: the namespaces holding a ForkliftController."""
    try:
        controllers = client.list_items(CONTROLLERS.path())
    except ApiError as e:
        if e.not_found:
            warn('error: the server doesn\'t have a resource type "forkliftcontrollers"')
        else:
            warn(f"error: {e}")
        return []
    found: list[str] = []
    for controller in controllers:
        ns = str((controller.get("metadata") or {}).get("namespace", ""))
        if ns and ns not in found:
            found.append(ns)
    return found


def forklift_resources(client: ApiClient) -> list[Resource]:
    try:
        discovery = client.get_json(f"/apis/{GROUP}/{VERSION}")
    except ApiError as e:
        warn(f"warning: discovery of {GROUP} failed ({e}); using the known resources")
        return list(KNOWN_RESOURCES)
    resources = []
    for entry in discovery.get("resources") or []:
        name = str(entry.get("name", ""))
        if name and "/" not in name and "list" in (entry.get("verbs") or ["list"]):
            resources.append(Resource(GROUP, VERSION, name, str(entry.get("kind", ""))))
    return resources or list(KNOWN_RESOURCES)


def dump_object(out: Path, resource_dir: str, resource: Resource, obj: dict[str, Any]) -> None:
    ns = (obj.get("metadata") or {}).get("namespace")
    name = name_of(obj)
    say(f"Dumping {resource_dir}: {name} from {ns or '<none>'}")
    if ns:
        target = out / "namespaces" / str(ns) / "crs" / resource_dir / f"{name}.yaml"
    else:
        target = out / "cluster-scoped-resources" / resource_dir / f"{name}.yaml"
    write_yaml(target, typed(resource, obj))


def pod_logs(
    client: ApiClient,
    out: Path,
    ns: str,
    pod: dict[str, Any],
    *,
    keep_line: Callable[[str], bool] | None = None,
    previous: bool = True,
) -> None:
    """``oc logs --all-containers`` of one pod into ``namespaces/<ns>/logs/<pod>/``."""
    name = name_of(pod)
    folder = out / "namespaces" / ns / "logs" / name
    folder.mkdir(parents=True, exist_ok=True)
    containers = containers_of(pod)
    say(f"[ns={ns}][pod={name}] Collecting Pod logs...")
    _write_logs(client, folder / "current.log", ns, name, [c for c, _ in containers], keep_line)
    restarted = [c for c, was_restarted in containers if was_restarted]
    if previous and restarted:
        say(f"[ns={ns}][pod={name}] Collecting previous Pod logs...")
        _write_logs(client, folder / "previous.log", ns, name, restarted, keep_line, previous=True)


def _write_logs(
    client: ApiClient,
    target: Path,
    ns: str,
    pod: str,
    containers: Iterable[str],
    keep_line: Callable[[str], bool] | None,
    *,
    previous: bool = False,
) -> None:
    with target.open("wb") as out:
        for container in containers:
            query = {"container": container, "previous": True if previous else None}
            path = PODS.path(namespace=ns, name=pod) + "/log"
            try:
                if keep_line is None:
                    client.get_to_file(path, out, query)
                    continue
                text = client.get_bytes(path, query).decode("utf-8", "replace")
            except ApiError as e:
                warn(f"error: logs of {ns}/{pod}/{container}: {e}")
                continue
            kept = [line for line in text.splitlines(keepends=True) if keep_line(line)]
            out.write("".join(kept).encode())


def pods_with_vm_ids(client: ApiClient, ns: str, vm_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Pods of the migrated VMs (virt-v2v conversion, hooks): labelled ``vmID=<id>``."""
    ids = sorted({i for i in vm_ids if _LABEL_VALUE.match(i)})
    if not ids:
        return []
    try:
        return client.list_items(
            PODS.path(namespace=ns), {"labelSelector": f"vmID in ({','.join(ids)})"}
        )
    except ApiError as e:
        warn(f"error: listing pods in {ns}: {e}")
        return []


def plan_vms(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan's VMs: spec entries, with the migration status of each merged in."""
    statuses = {
        str(vm.get("id", "")): vm
        for vm in ((plan.get("status") or {}).get("migration") or {}).get("vms") or []
        if isinstance(vm, dict)
    }
    vms = []
    for vm in (plan.get("spec") or {}).get("vms") or []:
        if isinstance(vm, dict):
            vm_id = str(vm.get("id", ""))
            status = statuses.get(vm_id, {})
            vms.append({"id": vm_id, "name": str(vm.get("name") or status.get("name") or "")})
    return vms


def gather_main() -> int:
    out = must_gather_dir()
    try:
        client = ApiClient.from_environment()
    except ApiError as e:
        warn(f"error: {e}")
        return 1
    for ns in forklift_namespaces(client):
        say(f"Gathering Forklift and Kubevirt related CRs for namespaces [{ns}]")
        resources = forklift_resources(client)
        say(f"Starting collection of: [{' '.join(r.plural + '.' + GROUP for r in resources)}]")
        for resource in resources:
            say(f"Collecting {resource.plural}.{GROUP}")
            try:
                items = client.list_items(resource.path())
            except ApiError as e:
                warn(f"error: listing {resource.plural}: {e}")
                continue
            for obj in items:
                dump_object(out, f"{resource.plural}.{GROUP}", resource, obj)
        say(f"Gathering logs for namespaces [{ns}]")
        try:
            pods = client.list_items(PODS.path(namespace=ns))
            plans = client.list_items(PLANS.path())
        except ApiError as e:
            warn(f"error: {e}")
            pods, plans = [], []
        for pod in pods:
            pod_logs(client, out, ns, pod)
        for plan in plans:
            target_ns = str((plan.get("spec") or {}).get("targetNamespace") or "")
            ids = [vm["id"] for vm in plan_vms(plan)]
            for pod in pods_with_vm_ids(client, target_ns, ids) if target_ns else []:
                pod_logs(client, out, target_ns, pod)
        say("Waiting for background gather tasks to finish")
    pack()
    say("Waiting for copy phase...")
    return 0
