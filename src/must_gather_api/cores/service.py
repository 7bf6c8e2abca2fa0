"""The cluster's core dumps: the list across nodes, one core's metadata, its bytes, deletion.

Every node is asked at once, each within ``CORES_NODE_TIMEOUT``; a node that does not
answer is named in the answer instead of failing it. Calls use the service's own identity
(the caller has been reviewed already) and go to the API server only.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from must_gather_api.cores import records
from must_gather_api.cores.nodes import (
    CORES_MOUNT,
    JOURNAL_MOUNT,
    RUNTIME_MOUNT,
    NodePod,
    node_pod,
)
from must_gather_api.errors import CoreNotFound, CoresUnavailable, MustGatherError, NodeUnavailable
from must_gather_api.executors.kubernetes.calls import ClusterCalls
from must_gather_api.executors.kubernetes.errors import ClusterCallFailed
from must_gather_api.kube.access import ClusterAccess
from must_gather_api.settings import Settings


@dataclass(frozen=True)
class Listing:
    cores: list[dict[str, Any]]
    unavailable: dict[str, str] = field(default_factory=dict)
    """Nodes that did not answer, with why."""
    sizes: dict[tuple[str, str], int] = field(default_factory=dict, compare=False)
    """Each listed core's file size by (node, id), kept out of its metadata."""


@dataclass
class OpenCore:
    """A core found on its node, its pod kept until ``chunks`` ends or ``close`` is called."""

    node: str
    core_id: str
    facts: records.FileFacts
    _pod: NodePod
    _resources: contextlib.AsyncExitStack

    async def chunks(self, offset: int, length: int) -> AsyncGenerator[bytes, None]:
        try:
            async for chunk in self._pod.stream(
                ["read", CORES_MOUNT, self.core_id, str(offset), str(length)]
            ):
                yield chunk
        finally:
            # A client that got every byte it was promised hangs up while the exec ends:
            # the server then cancels this; the pod and the clients are closed regardless.
            await asyncio.shield(asyncio.ensure_future(self.close()))

    async def close(self) -> None:
        await self._resources.aclose()


@dataclass(frozen=True)
class NodeFiles:
    """A node's cores, read through the pod ``Cores.reading`` made."""

    _pod: NodePod

    def chunks(self, core_id: str, size: int) -> AsyncIterator[bytes]:
        """The first ``size`` bytes of the core (CoreNotFound if it is gone)."""
        if not records.valid_core_id(core_id):
            raise CoreNotFound(f"there is no core dump {core_id!r}")
        return self._pod.stream(["read", CORES_MOUNT, core_id, "0", str(size)])


class Cores:
    def __init__(self, access: ClusterAccess | None, settings: Settings, *, why: str = "") -> None:
        self._access = access
        self._settings = settings
        self._why = why

    def _calls(self) -> ClusterCalls:
        if self._access is None:
            raise CoresUnavailable(f"core dumps cannot be read: {self._why}")
        timeout = self._settings.cores_node_timeout.total_seconds()
        return ClusterCalls(
            self._access.api_client(),
            request_timeout=min(self._settings.cluster_request_timeout.total_seconds(), timeout),
            deadline=time.monotonic() + timeout,
        )

    def _pod(self, calls: ClusterCalls, node: str, *, writable: bool = False) -> Any:
        return node_pod(
            calls,
            self._settings.cores_pod_namespace,
            node,
            self._settings.cores_node_image,
            writable=writable,
        )

    async def _nodes(self, calls: ClusterCalls) -> list[str]:
        try:
            nodes = await calls.get("/api/v1/nodes", what="list the nodes")
        except ClusterCallFailed as e:
            raise CoresUnavailable(e.message) from e
        return sorted(str(n["metadata"]["name"]) for n in nodes.get("items") or [])

    async def _node_cores(self, calls: ClusterCalls, node: str) -> list[dict[str, Any]]:
        async with self._pod(calls, node) as pod:
            args = ["list", CORES_MOUNT, JOURNAL_MOUNT, RUNTIME_MOUNT]
            raw = await pod.run([*args, self._settings.cores_namespace_regex])
        if not isinstance(raw, list):
            raise NodeUnavailable(f"node {node} answered something that is not a list")
        return [r for r in raw if isinstance(r, dict)]

    async def _ask(
        self, calls: ClusterCalls, node: str
    ) -> list[tuple[dict[str, Any], records.FileFacts]] | str:
        """The node's cores, or why it did not answer."""
        timeout = self._settings.cores_node_timeout.total_seconds()
        bounded = calls.bounded(time.monotonic() + timeout)
        try:
            async with asyncio.timeout(timeout):
                found = await self._node_cores(bounded, node)
        except TimeoutError:
            return f"node {node} did not answer within {timeout:g}s"
        except MustGatherError as e:
            return e.message
        return [(records.public(raw, node), records.facts(raw)) for raw in found]

    async def list(self, *, namespace: str = "", pod: str = "") -> Listing:
        async with self._calls() as calls:
            nodes = await self._nodes(calls)
            answers = await asyncio.gather(*(self._ask(calls, node) for node in nodes))
        cores: list[dict[str, Any]] = []
        unavailable: dict[str, str] = {}
        sizes: dict[tuple[str, str], int] = {}
        for node, answer in zip(nodes, answers, strict=True):
            if isinstance(answer, str):
                unavailable[node] = answer
                continue
            for core, facts in answer:
                if records.matches(core, namespace=namespace, pod=pod):
                    cores.append(core)
                    sizes[node, str(core.get("id", ""))] = facts.size
        return Listing(records.oldest_first(cores), unavailable, sizes)

    def _check(self, node: str, core_id: str) -> None:
        if not records.valid_node(node) or not records.valid_core_id(core_id):
            raise CoreNotFound(f"there is no core dump {core_id!r} on node {node!r}")

    async def metadata(self, node: str, core_id: str) -> dict[str, Any]:
        self._check(node, core_id)
        async with self._calls() as calls:
            await self._known(calls, node)
            for raw in await self._node_cores(calls, node):
                if raw.get("id") == core_id:
                    return records.public(raw, node)
        raise CoreNotFound(f"there is no core dump {core_id} on node {node}")

    async def _known(self, calls: ClusterCalls, node: str) -> None:
        if node not in await self._nodes(calls):
            raise CoreNotFound(f"there is no node {node}")

    async def open(self, node: str, core_id: str) -> OpenCore:
        """The core's file, ready to stream; the caller must iterate ``chunks`` or close it."""
        self._check(node, core_id)
        resources = contextlib.AsyncExitStack()
        try:
            calls = await resources.enter_async_context(self._calls())
            await self._known(calls, node)
            pod = await resources.enter_async_context(self._pod(calls, node))
            raw = await pod.run(["stat", CORES_MOUNT, core_id])
            facts = records.facts(raw if isinstance(raw, dict) else {})
        except BaseException:
            await resources.aclose()
            raise
        return OpenCore(node, core_id, facts, pod, resources)

    @contextlib.asynccontextmanager
    async def reading(self, node: str) -> AsyncIterator[NodeFiles]:
        """One pod on ``node`` to read several of its cores in turn (a gathering's copy)."""
        if not records.valid_node(node):
            raise CoreNotFound(f"there is no node {node!r}")
        async with self._calls() as calls, self._pod(calls, node) as pod:
            yield NodeFiles(pod)

    async def delete(self, node: str, core_id: str) -> None:
        """Removes the file from the node (the pod mounts the directory writable for this)."""
        self._check(node, core_id)
        async with self._calls() as calls:
            await self._known(calls, node)
            async with self._pod(calls, node, writable=True) as pod:
                await pod.run(["delete", CORES_MOUNT, core_id])
