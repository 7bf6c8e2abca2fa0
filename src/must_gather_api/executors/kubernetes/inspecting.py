"""The local fallback (oc's ``BackupGathering``): a native ``oc adm inspect`` of
clusterversions and clusteroperators with their related objects, then of the namespace
``openshift-cluster-version``, into ``inspect.local.<suffix>/``, file for file as oc writes it.

Read from openshift/oc ``pkg/cli/admin/mustgather/mustgather.go: BackupGathering`` (two
inspect runs into one folder, neither given ``--since``) and ``pkg/cli/admin/inspect/``:
each run appends ``time.Now()`` to ``timestamp`` when it starts and when it ends and writes
the aggregated discovery files; the first clusteroperator adds one list file per
``config.openshift.io`` resource (``cluster-scoped-resources/config.openshift.io/<r>.yaml``)
and per ``kubeapiserver.operator.openshift.io`` resource (under ``operator.openshift.io/``);
each clusteroperator is written as an object and its ``status.relatedObjects`` followed
(namespaces in full, see ``inspect_namespaces``). Secrets and routes are masked as oc masks
them. A call that fails is printed in the gathering's output (and so ``must-gather.logs``)
at once and summed up at the end; a type the server does not serve is skipped, as by oc.

It runs when pods could not gather, so it asks the API server directly. On plain Kubernetes
(no config.openshift.io group) it says so and skips.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from must_gather_api.executors.kubernetes import events_page
from must_gather_api.executors.kubernetes import inspect_discovery as discovery
from must_gather_api.executors.kubernetes import inspect_writing as writing
from must_gather_api.executors.kubernetes.calls import ClusterCalls
from must_gather_api.executors.kubernetes.console import Console, go_time_now
from must_gather_api.executors.kubernetes.errors import ClusterCallFailed
from must_gather_api.executors.kubernetes.inspect_namespaces import gather_namespace

mask_secret = writing.mask_secret

CLUSTER_VERSION_NAMESPACE = "openshift-cluster-version"
CONFIG_GROUP = "config.openshift.io"
# inspect.go: gatherOperatorResourceData lists these groups into operator.openshift.io/.
OPERATOR_GROUPS_SUFFIX = "kubeapiserver.operator.openshift.io"
TYPE_TARGETS = "clusterversion.v1.config.openshift.io,clusteroperators.v1.config.openshift.io"


class Inspector:
    def __init__(self, calls: ClusterCalls, root: Path, console: Console) -> None:
        self.calls = calls
        self.root = root
        self.console = console
        self.errors: list[str] = []
        self.served = discovery.ServedResources(())
        self._visited: set[str] = set()

    # -- calls and files -----------------------------------------------------------------

    def failed(self, reason: str) -> None:
        """A call that failed: said at once, and kept for the summary."""
        self.errors.append(reason)
        self.console.out(f"error: {reason}")

    async def get(self, path: str, what: str, accept: str | None = None) -> Any:
        try:
            return await self.calls.request("GET", path, what=what, accept=accept)
        except ClusterCallFailed as e:
            self.failed(e.reason)
            return None

    async def write(self, relative: str, obj: Any) -> None:
        await asyncio.to_thread(writing.write_yaml, self.root / relative, obj)

    async def write_text(self, relative: str, text: str) -> None:
        await asyncio.to_thread(writing.write_text, self.root / relative, text)

    def first_visit(self, key: str) -> bool:
        if key in self._visited:
            return False
        self._visited.add(key)
        return True

    async def write_list(
        self, relative: str, served: discovery.Served, path: str, what: str
    ) -> list[dict[str, Any]]:
        """Lists one type into one file (typed, masked); returns its items."""
        listed = await self.get(path, what)
        if listed is None:
            return []
        written = writing.as_list(
            listed,
            group=served.group,
            resource=served.resource,
            api_version=served.api_version,
            kind=served.kind,
        )
        await self.write(relative, written)
        return list(written["items"])

    # -- one inspect run -----------------------------------------------------------------

    async def stamp(self) -> None:
        stamp = go_time_now(self.console.started)
        await asyncio.to_thread(writing.append_line, self.root / "timestamp", stamp)

    async def discover(self) -> None:
        """Writes the aggregated discovery files and learns what the server serves."""
        documents = []
        group_list: Any = None
        for filename, path in discovery.DISCOVERY_FILES:
            found = await self.get(path, f"read discovery {path}", discovery.AGGREGATED_ACCEPT)
            if found is None:
                continue
            if found.get("kind") != "APIGroupDiscoveryList":
                # An API server before aggregated discovery: oc reports it too.
                self.failed(f"discovery {path} did not answer with an APIGroupDiscoveryList")
                group_list = found if found.get("kind") == "APIGroupList" else group_list
                continue
            await self.write(filename, found)
            documents.append(found)
        if len(documents) == len(discovery.DISCOVERY_FILES):
            self.served = discovery.ServedResources(discovery.parse(documents))
            return
        if group_list is None:
            group_list = await self.get("/apis", "read discovery /apis")
        lists = []
        for path in discovery.legacy_paths(group_list):
            found = await self.get(path, f"read discovery {path}")
            if found is not None:
                lists.append(found)
        self.served = discovery.ServedResources(discovery.parse_legacy(lists))

    async def inspect_types(self) -> None:
        """``oc adm inspect clusterversion...,clusteroperators...``."""
        for resource in ("clusterversions", "clusteroperators"):
            served = self.served.named(CONFIG_GROUP, resource)
            if served is None:
                self.failed(f'the server doesn\'t have a resource type "{resource}"')
                continue
            listed = await self.get(f"{served.api_path}/{resource}", f"list {resource}")
            for item in (listed or {}).get("items") or []:
                obj = {"apiVersion": served.api_version, "kind": served.kind, **item}
                if resource == "clusteroperators":
                    await self.group_lists(CONFIG_GROUP, CONFIG_GROUP)
                    await self.group_lists(OPERATOR_GROUPS_SUFFIX, "operator.openshift.io")
                await self.inspect_object(served, obj)

    async def group_lists(self, suffix: str, folder: str) -> None:
        """Once per inspect: one list file per listable resource of the groups."""
        if not self.first_visit(f"/cluster-scoped-resources/{folder}"):
            return
        for served in self.served.listable_in_groups(suffix):
            await self.write_list(
                f"cluster-scoped-resources/{folder}/{served.resource}.yaml",
                served,
                f"{served.api_path}/{served.resource}",
                f"list {served.resource}.{served.group}",
            )

    async def inspect_object(self, served: discovery.Served, obj: dict[str, Any]) -> None:
        """One object: its related objects first, then its own file (gatherGenericObject)."""
        meta = obj.get("metadata") or {}
        name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "")
        if not self.first_visit(f"{namespace}/{served.group}/{served.resource}/{name}"):
            return
        if served.resource == "namespaces" and not served.group:
            await gather_namespace(self, name)
            return
        for reference in (obj.get("status") or {}).get("relatedObjects") or []:
            await self.related(reference)
        prefix = f"namespaces/{namespace}" if namespace else "cluster-scoped-resources"
        await self.write(
            f"{prefix}/{served.folder}/{served.resource}/{name}.yaml",
            writing.masked(served.group, served.resource, obj),
        )

    async def related(self, reference: dict[str, Any]) -> None:
        """A ``relatedObjects`` entry: one object, or every object of a type if unnamed."""
        group = str(reference.get("group") or "")
        resource = str(reference.get("resource") or "")
        namespace = str(reference.get("namespace") or "")
        name = str(reference.get("name") or "")
        if not resource or f"{namespace}/{group}/{resource}/{name}" in self._visited:
            return
        served = self.served.named(group, resource)
        if served is None:
            target = f"{resource}.{group}" if group else resource
            self.failed(
                f"skipping gathering {target}/{name} due to error: the server doesn't have a "
                f'resource type "{resource}"'
            )
            return
        where = f"/namespaces/{namespace}" if namespace and served.namespaced else ""
        path = f"{served.api_path}{where}/{resource}"
        if name:
            found = await self.get(f"{path}/{name}", f"read {resource} {name}")
            objects = [found] if found is not None else []
        else:
            listed = await self.get(path, f"list {resource}")
            objects = list((listed or {}).get("items") or [])
        for obj in objects:
            await self.inspect_object(
                served, {"apiVersion": served.api_version, "kind": served.kind, **obj}
            )

    async def run(self, steps: Callable[[], Awaitable[None]]) -> None:
        """One ``oc adm inspect`` run: timestamps around discovery and ``steps``."""
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
        await self.stamp()
        try:
            await self.discover()
            await steps()
        finally:
            await self.stamp()


async def fallback(calls: ClusterCalls, work_dir: Path, console: Console) -> str:
    """Runs the inspect; returns a sentence for the gathering's error reason."""
    console.out(f"Falling back to `oc adm inspect {TYPE_TARGETS}` to collect basic cluster types.")
    try:
        openshift = await calls.exists(f"/apis/{CONFIG_GROUP}", what="discover OpenShift")
    except ClusterCallFailed as e:
        console.out(f"the fallback inspect cannot run: {e.reason}")
        return f"the fallback inspect could not run: {e.reason}"
    if not openshift:
        console.out("not an OpenShift cluster (no config.openshift.io API): inspect skipped")
        return "the fallback inspect was skipped: the cluster is not OpenShift"
    root = work_dir / f"inspect.local.{secrets.randbelow(10**18):06d}"
    inspector = Inspector(calls, root, console)
    await inspector.run(inspector.inspect_types)
    console.out(
        f"Falling back to `oc adm inspect namespace/{CLUSTER_VERSION_NAMESPACE}` to collect "
        "basic cluster named resources."
    )
    second = Inspector(calls, root, console)

    async def named() -> None:
        await gather_namespace(second, CLUSTER_VERSION_NAMESPACE)

    await second.run(named)
    await asyncio.to_thread(events_page.write_page, root)
    console.out(f"Wrote inspect data to {root.name}.")
    errors = [*inspector.errors, *second.errors]
    if errors:
        console.out(
            f"inspection completed with {len(errors)} errors occurred while gathering data: "
            + "; ".join(errors[:10])
        )
        return f"the fallback inspect ran (into {root.name}/) with {len(errors)} errors"
    return f"the fallback inspect ran (into {root.name}/)"
