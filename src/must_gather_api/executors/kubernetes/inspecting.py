"""The local fallback (oc's ``BackupGathering``): a native ``oc adm inspect`` of
clusterversions, clusteroperators with their related objects, and the namespace
``openshift-cluster-version``, into ``inspect.local.<suffix>/``.

It runs when pods could not gather, so it asks the API server directly. Secrets are written
with every value replaced by its length, as oc does. On plain Kubernetes (no
config.openshift.io group) it says so and skips.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import secrets
from pathlib import Path
from typing import Any

import yaml

from must_gather_api.executors.kubernetes import events_page
from must_gather_api.executors.kubernetes.calls import ClusterCalls
from must_gather_api.executors.kubernetes.console import Console
from must_gather_api.executors.kubernetes.errors import ClusterCallFailed

log = logging.getLogger(__name__)

CLUSTER_VERSION_NAMESPACE = "openshift-cluster-version"
_KEPT_SECRET_KEYS = ("tls.crt", "ca.crt", "service-ca.crt")
_BLANKED_ANNOTATIONS = (
    "openshift.io/token-secret.value",
    "kubectl.kubernetes.io/last-applied-configuration",
)
_NAMESPACE_LISTS = (
    ("", "v1", "events"),
    ("", "v1", "configmaps"),
    ("", "v1", "secrets"),
    ("", "v1", "services"),
    ("", "v1", "endpoints"),
    ("", "v1", "persistentvolumeclaims"),
    ("apps", "v1", "deployments"),
    ("apps", "v1", "daemonsets"),
    ("apps", "v1", "replicasets"),
)
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def mask_secret(secret: dict[str, Any]) -> dict[str, Any]:
    """The secret with each value replaced by ``"<N> bytes long"`` (certificates kept)."""
    masked = dict(secret)
    data = dict(masked.get("data") or {})
    for key, value in data.items():
        if key in _KEPT_SECRET_KEYS:
            continue
        try:
            size = len(base64.b64decode(str(value), validate=False))
        except (binascii.Error, ValueError):
            size = len(str(value))
        data[key] = f"{size} bytes long"
    if data:
        masked["data"] = data
    masked.pop("stringData", None)
    meta = dict(masked.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    for name in _BLANKED_ANNOTATIONS:
        if name in annotations:
            annotations[name] = ""
    if annotations:
        meta["annotations"] = annotations
    masked["metadata"] = meta
    return masked


def _write(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.dump(obj, Dumper=_DUMPER, sort_keys=False), encoding="utf-8")


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _base(group: str, version: str) -> str:
    return f"/api/{version}" if not group else f"/apis/{group}/{version}"


class Inspector:
    def __init__(self, calls: ClusterCalls, root: Path, console: Console) -> None:
        self.calls = calls
        self.root = root
        self.console = console
        self.errors: list[str] = []
        self._visited: set[str] = set()
        self._versions: dict[str, str | None] = {"": "v1"}

    async def _get(self, path: str, what: str, query: dict[str, Any] | None = None) -> Any:
        try:
            return await self.calls.get(path, what=what, query=query)
        except ClusterCallFailed as e:
            self.errors.append(e.reason)
            return None

    async def write(self, relative: str, obj: Any) -> None:
        await asyncio.to_thread(_write, self.root / relative, obj)

    async def version_of(self, group: str) -> str | None:
        if group not in self._versions:
            found = await self._get(f"/apis/{group}", f"discover the API group {group}")
            preferred = (found or {}).get("preferredVersion") or {}
            self._versions[group] = preferred.get("version")
        return self._versions[group]

    async def cluster_list(self, group: str, version: str, resource: str) -> list[dict[str, Any]]:
        listed = await self._get(f"{_base(group, version)}/{resource}", f"list {resource}")
        items = list((listed or {}).get("items") or [])
        for item in items:
            name = item["metadata"]["name"]
            await self.write(
                f"cluster-scoped-resources/{group or 'core'}/{resource}/{name}.yaml", item
            )
        return items

    async def related(self, reference: dict[str, Any]) -> None:
        group = str(reference.get("group") or "")
        resource = str(reference.get("resource") or "")
        namespace = str(reference.get("namespace") or "")
        name = str(reference.get("name") or "")
        if not resource or not name:
            return
        if resource == "namespaces" and not group:
            await self.namespace(name)
            return
        key = f"{namespace}/{group}/{resource}/{name}"
        if key in self._visited:
            return
        self._visited.add(key)
        version = await self.version_of(group)
        if version is None:
            return
        where = f"/namespaces/{namespace}" if namespace else ""
        obj = await self._get(
            f"{_base(group, version)}{where}/{resource}/{name}", f"read {resource} {name}"
        )
        if obj is None:
            return
        if resource == "secrets" and not group:
            obj = mask_secret(obj)
        prefix = f"namespaces/{namespace}" if namespace else "cluster-scoped-resources"
        await self.write(f"{prefix}/{group or 'core'}/{resource}/{name}.yaml", obj)

    async def namespace(self, name: str) -> None:
        if f"namespace/{name}" in self._visited:
            return
        self._visited.add(f"namespace/{name}")
        self.console.out(f"Gathering data for ns/{name}...")
        obj = await self._get(f"/api/v1/namespaces/{name}", f"read namespace {name}")
        if obj is None:
            return
        base = f"namespaces/{name}"
        await self.write(f"{base}/{name}.yaml", obj)
        pods = await self._get(f"/api/v1/namespaces/{name}/pods", f"list pods in {name}")
        for pod in (pods or {}).get("items") or []:
            await self.pod(base, pod)
        for group, version, resource in _NAMESPACE_LISTS:
            listed = await self._get(
                f"{_base(group, version)}/namespaces/{name}/{resource}",
                f"list {resource} in {name}",
            )
            if listed is None:
                continue
            if resource == "secrets":
                listed["items"] = [mask_secret(s) for s in listed.get("items") or []]
            await self.write(f"{base}/{group or 'core'}/{resource}.yaml", listed)

    async def pod(self, base: str, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        name, namespace = meta["name"], meta["namespace"]
        await self.write(f"{base}/pods/{name}/{name}.yaml", pod)
        spec = pod.get("spec") or {}
        for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            cname = container["name"]
            try:
                text = await self.calls.request(
                    "GET",
                    f"/api/v1/namespaces/{namespace}/pods/{name}/log",
                    what=f"read the log of {name}/{cname}",
                    query={"container": cname, "timestamps": "true"},
                )
            except ClusterCallFailed as e:
                self.errors.append(e.reason)
                continue
            await asyncio.to_thread(
                _write_text,
                self.root / f"{base}/pods/{name}/{cname}/{cname}/logs/current.log",
                text if isinstance(text, str) else str(text),
            )


async def fallback(calls: ClusterCalls, work_dir: Path, console: Console) -> str:
    """Runs the inspect; returns a sentence for the gathering's error reason."""
    console.out(
        "Falling back to `oc adm inspect clusterversion.v1.config.openshift.io,"
        "clusteroperators.v1.config.openshift.io` to collect basic cluster types."
    )
    try:
        openshift = await calls.exists("/apis/config.openshift.io", what="discover OpenShift")
    except ClusterCallFailed as e:
        console.out(f"the fallback inspect cannot run: {e.reason}")
        return f"the fallback inspect could not run: {e.reason}"
    if not openshift:
        console.out("not an OpenShift cluster (no config.openshift.io API): inspect skipped")
        return "the fallback inspect was skipped: the cluster is not OpenShift"
    root = work_dir / f"inspect.local.{secrets.randbelow(10**18)}"
    inspector = Inspector(calls, root, console)
    await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
    await inspector.cluster_list("config.openshift.io", "v1", "clusterversions")
    operators = await inspector.cluster_list("config.openshift.io", "v1", "clusteroperators")
    for operator in operators:
        for reference in (operator.get("status") or {}).get("relatedObjects") or []:
            await inspector.related(reference)
    console.out(
        "Falling back to `oc adm inspect namespace/openshift-cluster-version` to collect "
        "basic cluster named resources."
    )
    await inspector.namespace(CLUSTER_VERSION_NAMESPACE)
    await asyncio.to_thread(events_page.write_page, root)
    console.out(f"Wrote inspect data to {root.name}.")
    if inspector.errors:
        console.out(
            "inspection completed with the errors occurred while gathering data: "
            + "; ".join(inspector.errors[:10])
        )
    return f"the fallback inspect ran (into {root.name}/)"
