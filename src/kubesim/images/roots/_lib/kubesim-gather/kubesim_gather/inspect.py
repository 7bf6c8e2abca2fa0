"""An ``oc adm inspect``-like dump of objects, pod logs and events into a must-gather tree."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubesim_gather.api import ApiClient, ApiError
from kubesim_gather.container import as_list, say, warn, write_yaml
from kubesim_gather.since import Since


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_dir(self) -> str:
        return self.group or "core"

    def path(self, *, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if namespace is not None:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return base + (f"/{name}" if name is not None else "")


NODES = Resource("", "v1", "nodes", "Node")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace")
PODS = Resource("", "v1", "pods", "Pod")
EVENTS = Resource("", "v1", "events", "Event")
SECRETS = Resource("", "v1", "secrets", "Secret")
CLUSTER_VERSIONS = Resource("config.openshift.io", "v1", "clusterversions", "ClusterVersion")
CLUSTER_OPERATORS = Resource("config.openshift.io", "v1", "clusteroperators", "ClusterOperator")
# Listed per namespace besides pods, events and secrets; types a cluster lacks are skipped.
# (oc adm inspect's namespaceResourcesToCollect, its ``all`` category spelled out as
# kubesim serves it.)
NAMESPACED_LISTS = (
    Resource("", "v1", "configmaps", "ConfigMap"),
    Resource("", "v1", "services", "Service"),
    Resource("", "v1", "endpoints", "Endpoints"),
    Resource("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim"),
    Resource("apps", "v1", "deployments", "Deployment"),
    Resource("apps", "v1", "daemonsets", "DaemonSet"),
    Resource("apps", "v1", "replicasets", "ReplicaSet"),
    Resource("apps", "v1", "statefulsets", "StatefulSet"),
    Resource("batch", "v1", "jobs", "Job"),
    Resource("batch", "v1", "cronjobs", "CronJob"),
    Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
    Resource("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy"),
    Resource("networking.k8s.io", "v1", "ingresses", "Ingress"),
    Resource("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget"),
)


def typed(resource: Resource, obj: dict[str, Any]) -> dict[str, Any]:
    """List items come without apiVersion/kind; a file of one object carries them."""
    return {"apiVersion": resource.api_version, "kind": resource.kind, **obj}


def name_of(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


_PUBLIC_KEYS = ("tls.crt", "ca.crt", "service-ca.crt")


def _elided(value: object) -> str:
    """oc's elideSecret: the value's length as text, which a Secret's ``data`` holds base64."""
    try:
        size = len(base64.b64decode(str(value), validate=True))
    except (binascii.Error, ValueError):
        size = len(str(value))
    return base64.b64encode(f"{size} bytes long".encode()).decode()


def redact_secret(secret: dict[str, Any]) -> dict[str, Any]:
    """Values elided as oc adm inspect elides them (certificates kept); of the metadata only
    the names survive (simpler than oc, which keeps it and blanks two annotations)."""
    meta = secret.get("metadata") or {}
    kept_meta = {k: meta[k] for k in ("name", "namespace", "uid", "creationTimestamp") if k in meta}
    data = {**(secret.get("data") or {}), **(secret.get("stringData") or {})}
    return {
        "metadata": kept_meta,
        "type": secret.get("type", "Opaque"),
        "data": {
            key: value if key in _PUBLIC_KEYS else _elided(value) for key, value in data.items()
        },
    }


@dataclass
class Inspector:
    client: ApiClient
    out: Path
    since: Since
    errors: list[str] = field(default_factory=list)

    def _failed(self, what: str, error: ApiError) -> None:
        message = f"error: {what}: {error}"
        self.errors.append(message)
        warn(message)

    def cluster_objects(
        self, resource: Resource, *, list_file: bool = False
    ) -> list[dict[str, Any]]:
        """Writes every object of a cluster-scoped type, one file each, and with
        ``list_file`` the list in one file beside their folder (oc adm inspect writes both for
        config.openshift.io types once it inspects a clusteroperator); returns them."""
        try:
            items = self.client.list_items(resource.path())
        except ApiError as e:
            if e.not_found:
                say(f"skipping {resource.plural}.{resource.group_dir}: not served by this cluster")
            else:
                self._failed(f"listing {resource.plural}", e)
            return []
        folder = self.out / "cluster-scoped-resources" / resource.group_dir / resource.plural
        for item in items:
            write_yaml(folder / f"{name_of(item)}.yaml", typed(resource, item))
        if list_file:
            typed_items = [typed(resource, item) for item in items]
            listed = as_list(resource.kind, resource.api_version, typed_items)
            write_yaml(folder.parent / f"{resource.plural}.yaml", listed)
        return items

    def namespace(self, ns: str) -> bool:
        """Dumps one namespace as ``oc adm inspect ns/<ns>`` does; False if it does not exist."""
        try:
            ns_obj = self.client.get_json(NAMESPACES.path(name=ns))
        except ApiError as e:
            if e.not_found:
                say(f'namespaces "{ns}" not found, skipping')
            else:
                self._failed(f"getting namespace {ns}", e)
            return False
        say(f"Gathering data for ns/{ns}...")
        base = self.out / "namespaces" / ns
        write_yaml(base / f"{ns}.yaml", typed(NAMESPACES, ns_obj))
        self._pods(ns, base)
        self._events(ns, base)
        self._secrets(ns, base)
        for resource in NAMESPACED_LISTS:
            self._list(ns, base, resource)
        return True

    def _list(
        self, ns: str, base: Path, resource: Resource, *, quiet_404: bool = True
    ) -> list[dict[str, Any]] | None:
        try:
            items = self.client.list_items(resource.path(namespace=ns))
        except ApiError as e:
            if not (quiet_404 and e.not_found):
                self._failed(f"listing {resource.plural} in {ns}", e)
            return None
        target = base / resource.group_dir / f"{resource.plural}.yaml"
        write_yaml(target, as_list(resource.kind, resource.api_version, items))
        return items

    def _events(self, ns: str, base: Path) -> None:
        try:
            items = self.client.list_items(EVENTS.path(namespace=ns))
        except ApiError as e:
            self._failed(f"listing events in {ns}", e)
            return
        kept = [event for event in items if self.since.keeps_event(event)]
        write_yaml(base / "core" / "events.yaml", as_list("Event", "v1", kept))

    def _secrets(self, ns: str, base: Path) -> None:
        try:
            items = self.client.list_items(SECRETS.path(namespace=ns))
        except ApiError as e:
            self._failed(f"listing secrets in {ns}", e)
            return
        redacted = [redact_secret(item) for item in items]
        write_yaml(base / "core" / "secrets.yaml", as_list("Secret", "v1", redacted))

    def _pods(self, ns: str, base: Path) -> None:
        pods = self._list(ns, base, PODS, quiet_404=False)
        for pod in pods or []:
            name = name_of(pod)
            pod_dir = base / "pods" / name
            write_yaml(pod_dir / f"{name}.yaml", typed(PODS, pod))
            for container, restarted in containers_of(pod):
                logs = pod_dir / container / container / "logs"
                self.pod_log(ns, name, container, logs / "current.log")
                if restarted:
                    self.pod_log(ns, name, container, logs / "previous.log", previous=True)

    def pod_log(
        self, ns: str, pod: str, container: str, target: Path, *, previous: bool = False
    ) -> bool:
        query: dict[str, str | int | bool | None] = {
            "container": container,
            "timestamps": True,
            "previous": True if previous else None,
            **self.since.log_query(),
        }
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with target.open("wb") as out:
                self.client.get_to_file(PODS.path(namespace=ns, name=pod) + "/log", out, query)
        except ApiError as e:
            target.unlink(missing_ok=True)
            self._failed(f"logs of {ns}/{pod}/{container}", e)
            return False
        return True


def containers_of(pod: dict[str, Any]) -> list[tuple[str, bool]]:
    """(container name, has a previous instance) for init and ordinary containers."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    statuses = {
        s.get("name"): s
        for key in ("initContainerStatuses", "containerStatuses")
        for s in status.get(key) or []
    }
    found: list[tuple[str, bool]] = []
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            name = str(container.get("name", ""))
            st = statuses.get(name) or {}
            restarted = bool(st.get("restartCount")) or "terminated" in (st.get("lastState") or {})
            started = any(k in (st.get("state") or {}) for k in ("running", "terminated"))
            if started or restarted:
                found.append((name, restarted))
    return found
