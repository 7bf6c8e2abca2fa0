"""The Kubernetes objects an archive holds, by type, as an API server would serve them.

Read from the layouts images write: ``oc adm inspect``'s
`cluster-scoped-resources/<group>/<plural>/<name>.yaml`, `namespaces/<ns>/<group>/<plural>.yaml`
(lists) and `namespaces/<ns>/<ns>.yaml`, and the Forklift image's
`namespaces/<ns>/crs/<plural.group or kind>/<name>.yaml`. The same object dumped twice (two
images, or a list and a file) is served once. Types the archive does not hold are not served.
Blocking: built off the event loop, once per archive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from must_gather_api.analysis.pods import LOGS
from must_gather_api.analysis.source import ArchiveFiles

_CLUSTER = re.compile(
    r"(^|/)cluster-scoped-resources/(?P<group>[^/]+)/(?P<plural>[^/]+)/[^/]+\.yaml$"
)
_NAMESPACED_LIST = re.compile(
    r"(^|/)namespaces/(?P<ns>[^/]+)/(?P<group>[^/]+)/(?P<plural>[^/]+)\.yaml$"
)
_NAMESPACE = re.compile(r"(^|/)namespaces/(?P<ns>[^/]+)/(?P=ns)\.yaml$")
_CRS = re.compile(r"(^|/)namespaces/[^/]+/crs/(?P<dir>[^/]+)/[^/]+\.yaml$")
# Directories of namespaces/<ns>/ that hold something else than lists of one type.
_NOT_TYPES = {"pods", "logs", "crs"}
SHORT_NAMES = {
    "pods": ["po"],
    "nodes": ["no"],
    "namespaces": ["ns"],
    "events": ["ev"],
    "configmaps": ["cm"],
    "services": ["svc"],
    "persistentvolumeclaims": ["pvc"],
    "persistentvolumes": ["pv"],
    "deployments": ["deploy"],
    "daemonsets": ["ds"],
    "replicasets": ["rs"],
    "statefulsets": ["sts"],
    "clusteroperators": ["co"],
    "secrets": [],
}


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def describe(self) -> dict[str, Any]:
        """Its entry in an APIResourceList."""
        return {
            "name": self.plural,
            "singularName": self.kind.lower(),
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": ["get", "list"],
            "shortNames": SHORT_NAMES.get(self.plural, []),
        }


@dataclass
class ArchiveObjects:
    """Objects by type, each keyed by (namespace, name); pod logs by (ns, pod, container)."""

    types: dict[tuple[str, str], ResourceType] = field(default_factory=dict)  # (group, plural)
    objects: dict[tuple[str, str], dict[tuple[str, str], dict[str, Any]]] = field(
        default_factory=dict
    )
    sources: dict[tuple[str, str, str, str], str] = field(default_factory=dict)
    # (namespace, pod, container or "" for all, "current" | "previous") -> path
    logs: dict[tuple[str, str, str, str], str] = field(default_factory=dict)

    def add(self, kind_type: ResourceType, obj: dict[str, Any], path: str) -> None:
        key = (kind_type.group, kind_type.plural)
        self.types.setdefault(key, kind_type)
        meta = obj.get("metadata") or {}
        name = str(meta.get("name", ""))
        if not name:
            return
        ns = str(meta.get("namespace", "")) if kind_type.namespaced else ""
        served = {"apiVersion": kind_type.group_version, "kind": kind_type.kind, **obj}
        self.objects.setdefault(key, {}).setdefault((ns, name), served)
        self.sources.setdefault((kind_type.group, kind_type.plural, ns, name), path)

    def find_type(self, group: str, resource: str) -> ResourceType | None:
        return self.types.get((group, resource))

    def items(self, kind_type: ResourceType, namespace: str | None) -> list[dict[str, Any]]:
        found = self.objects.get((kind_type.group, kind_type.plural), {})
        chosen = [o for (ns, _name), o in found.items() if namespace is None or ns == namespace]
        return sorted(
            chosen, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"])
        )

    def get(self, kind_type: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.objects.get((kind_type.group, kind_type.plural), {})
        return found.get((namespace if kind_type.namespaced else "", name))


def _plural_of(kind: str) -> str:
    lower = kind.lower()
    if lower.endswith("y") and not lower.endswith(("ay", "ey", "oy", "uy")):
        return lower[:-1] + "ies"
    if lower.endswith(("s", "x", "ch", "sh")):
        return lower + "es"
    return lower + "s"


def _type_of(obj: dict[str, Any], plural: str, *, namespaced: bool) -> ResourceType | None:
    api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
    if not api_version or not kind:
        return None
    group, _, version = api_version.rpartition("/")
    return ResourceType(group, version, plural or _plural_of(kind), kind, namespaced)


def load(files: ArchiveFiles) -> ArchiveObjects:
    found = ArchiveObjects()
    for path in files.paths:
        if not path.endswith(".yaml"):
            continue
        plural, namespaced = "", True
        if match := _CLUSTER.search(path):
            plural, namespaced = match["plural"], False
        elif match := _NAMESPACE.search(path):
            plural, namespaced = "namespaces", False
        elif (match := _NAMESPACED_LIST.search(path)) and match["group"] not in _NOT_TYPES:
            plural = match["plural"]
        elif match := _CRS.search(path):
            plural = match["dir"].split(".", 1)[0] if "." in match["dir"] else ""
        else:
            continue
        for obj in files.documents(path):
            kind_type = _type_of(obj, plural, namespaced=namespaced)
            if kind_type is not None:
                found.add(kind_type, obj, path)
    for path in files.matching(LOGS):
        match = LOGS.search(path)
        assert match is not None
        pod = match["pod"] or match["fpod"]
        found.logs[(match["ns"], pod, match["container"] or "", match["which"])] = path
    return found
