"""What the fallback inspect knows of the API server: aggregated discovery, as oc reads it.

``oc adm inspect`` (openshift/oc ``pkg/cli/admin/inspect/discovery.go``) writes the
aggregated discovery documents of ``/apis`` and ``/api`` to ``aggregated-discovery-apis.yaml``
and ``aggregated-discovery-api.yaml``, and uses discovery to skip resource types the server
does not serve (``util.go: buildServerResources``), to expand the ``all`` category and to find
the ``config.openshift.io`` resources it lists (``inspect.go:
retrieveAPIGroupVersionResourceNames``). Here one pair of calls answers all of that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
)
# The files oc writes, and the discovery path each one holds.
DISCOVERY_FILES = (
    ("aggregated-discovery-apis.yaml", "/apis"),
    ("aggregated-discovery-api.yaml", "/api"),
)


@dataclass(frozen=True)
class Served:
    """One resource type the server serves, in its group's preferred version."""

    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def api_path(self) -> str:
        return f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def folder(self) -> str:
        """The group's folder in oc's tree: ``core`` for the core group."""
        return self.group or "core"


def parse(documents: Iterable[Any]) -> list[Served]:
    """Every resource (not subresource) of the APIGroupDiscoveryList documents, in the
    preferred (first listed) version of each group, in the order discovery gives them."""
    found: list[Served] = []
    seen: set[tuple[str, str]] = set()
    for document in documents:
        for item in (document or {}).get("items") or []:
            group = str((item.get("metadata") or {}).get("name") or "")
            for version in item.get("versions") or []:
                for entry in version.get("resources") or []:
                    resource = str(entry.get("resource") or "")
                    if not resource or (group, resource) in seen:
                        continue
                    seen.add((group, resource))
                    kind = str((entry.get("responseKind") or {}).get("kind") or "")
                    found.append(
                        Served(
                            group=group,
                            version=str(version.get("version") or ""),
                            resource=resource,
                            kind=kind,
                            namespaced=entry.get("scope") == "Namespaced",
                            verbs=tuple(entry.get("verbs") or ()),
                            categories=tuple(entry.get("categories") or ()),
                        )
                    )
    return found


class ServedResources:
    """Look-ups over what discovery found."""

    def __init__(self, served: Iterable[Served]) -> None:
        self.all = list(served)

    def named(self, group: str, resource: str) -> Served | None:
        for served in self.all:
            if served.group == group and served.resource == resource:
                return served
        return None

    def category(self, name: str) -> list[Served]:
        """The namespaced, listable members of a category (``all``), as kubectl expands it."""
        return [s for s in self.all if name in s.categories and s.namespaced and "list" in s.verbs]

    def listable_in_groups(self, suffix: str) -> list[Served]:
        """Listable resources of every group ending in ``suffix`` (oc's
        ``retrieveAPIGroupVersionResourceNames``), once each."""
        return [s for s in self.all if s.group.endswith(suffix) and "list" in s.verbs]

    def groups(self) -> set[str]:
        return {s.group for s in self.all}


def parse_legacy(resource_lists: Iterable[Any]) -> list[Served]:
    """The same from legacy discovery (APIResourceList documents, one per group version, the
    preferred ones), for API servers without aggregated discovery (before Kubernetes 1.26)."""
    found: list[Served] = []
    seen: set[tuple[str, str]] = set()
    for document in resource_lists:
        group_version = str((document or {}).get("groupVersion") or "")
        group, _, version = group_version.rpartition("/")
        for entry in (document or {}).get("resources") or []:
            resource = str(entry.get("name") or "")
            if not resource or "/" in resource or (group, resource) in seen:
                continue
            seen.add((group, resource))
            found.append(
                Served(
                    group=group,
                    version=version,
                    resource=resource,
                    kind=str(entry.get("kind") or ""),
                    namespaced=bool(entry.get("namespaced")),
                    verbs=tuple(entry.get("verbs") or ()),
                    categories=tuple(entry.get("categories") or ()),
                )
            )
    return found


def legacy_paths(group_list: Any) -> list[str]:
    """``/api/v1`` and the preferred version of each group of an APIGroupList."""
    paths = ["/api/v1"]
    for group in (group_list or {}).get("groups") or []:
        preferred = (group.get("preferredVersion") or {}).get("groupVersion")
        if preferred:
            paths.append(f"/apis/{preferred}")
    return paths
