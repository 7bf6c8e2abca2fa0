"""The kubelet (and scheduler) of the simulated cluster: one PodWorker per pod.

It watches pods and nodes in the store, admits the pods it runs, tells workers when their
node's readiness changes, and serves the API server's side: graceful pod deletion and the
targets of ``pods/log`` and ``pods/exec``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubesim import kinds
from kubesim.errors import BadRequest, NotFound
from kubesim.kubelet import scheduling
from kubesim.kubelet.containers import ExecTarget
from kubesim.kubelet.context import KubeletContext, KubeletTimings
from kubesim.kubelet.pods import PodWorker, deletion_timestamp
from kubesim.kubelet.pulling import Catalogue
from kubesim.kubelet.sources import LogSource, managed, resolve_container, static_log

if TYPE_CHECKING:
    from kubesim.faults import Faults
    from kubesim.store import Store, Watch

log = logging.getLogger(__name__)


class Kubelet:
    def __init__(
        self,
        *,
        store: Store,
        images: Catalogue,
        state_dir: Path,
        api_url: str,
        ca_file: Path,
        faults: Faults,
        token_for_service_account: Callable[[str, str], str],
        timings: KubeletTimings | None = None,
    ) -> None:
        self.ctx = KubeletContext(
            store=store,
            images=images,
            state_dir=state_dir,
            api_url=api_url,
            faults=faults,
            token_for_service_account=token_for_service_account,
            timings=timings or KubeletTimings(),
        )
        self.ca_file = ca_file
        self.workers: dict[tuple[str, str], PodWorker] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._watches: list[Watch] = []
        self._loops: list[asyncio.Task[None]] = []

    @property
    def store(self) -> Store:
        return self.ctx.store

    @property
    def faults(self) -> Faults:
        return self.ctx.faults

    async def start(self) -> None:
        self.ctx.ca_crt = await asyncio.to_thread(self.ca_file.read_bytes)
        pods = self.store.watch(kinds.PODS)
        nodes = self.store.watch(kinds.NODES)
        self._watches = [pods, nodes]
        for pod in self.store.list(kinds.PODS):
            self._on_pod("ADDED", pod)
        self._loops = [
            asyncio.create_task(self._watch_pods(pods), name="kubelet-watch-pods"),
            asyncio.create_task(self._watch_nodes(nodes), name="kubelet-watch-nodes"),
        ]

    async def stop(self) -> None:
        """Kills every container process at once and waits for every task."""
        for watch in self._watches:
            watch.close()
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        for worker in list(self.workers.values()):
            await worker.kill_now()
        tasks = list(self._tasks)
        await asyncio.gather(*tasks, return_exceptions=True)
        self.workers.clear()

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("kubelet task %s failed", task.get_name(), exc_info=task.exception())

    # -- watching -----------------------------------------------------------------------------

    async def _watch_pods(self, watch: Watch) -> None:
        async for event_type, pod in watch:
            try:
                self._on_pod(event_type, pod)
            except Exception:
                log.exception("kubelet could not handle %s of a pod", event_type)

    async def _watch_nodes(self, watch: Watch) -> None:
        async for _event_type, node in watch:
            name = node["metadata"]["name"]
            ready = scheduling.node_ready(node) and _event_type != "DELETED"
            for worker in list(self.workers.values()):
                if worker.node_name == name:
                    worker.set_node_ready(ready)
                worker.wake()

    def _pods_per_node(self) -> Counter[str]:
        return Counter(w.node_name for w in self.workers.values() if w.node_name)

    def _on_pod(self, event_type: str, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        key = (str(meta.get("namespace", "default")), str(meta["name"]))
        worker = self.workers.get(key)
        if worker is not None and worker.uid != meta.get("uid"):
            worker = None  # an older pod of the same name, already on its way out
        if event_type == "DELETED":
            if worker is not None and not worker.terminating:
                self._terminate(worker, worker.grace_seconds(), remove_object=False)
            return
        if worker is None:
            if event_type == "ADDED" and managed(pod) and key not in self.workers:
                self._admit(key, pod)
            elif meta.get("deletionTimestamp") and not managed(pod):
                with contextlib.suppress(NotFound):
                    self.store.delete(kinds.PODS, key[1], namespace=key[0])
            return
        worker.observe(pod)
        if meta.get("deletionTimestamp") and not worker.terminating:
            self._terminate(worker, worker.grace_seconds(), remove_object=True)

    def _admit(self, key: tuple[str, str], pod: dict[str, Any]) -> None:
        worker = PodWorker(self.ctx, pod, pods_per_node=self._pods_per_node)
        self.workers[key] = worker
        worker.task = self._spawn(worker.run(), name=f"pod-{key[0]}/{key[1]}")

    def _terminate(self, worker: PodWorker, grace: float, *, remove_object: bool) -> None:
        worker.terminating = True
        key = (worker.namespace, worker.name)

        async def terminate() -> None:
            try:
                await worker.terminate(grace, remove_object=remove_object)
            finally:
                if self.workers.get(key) is worker:
                    del self.workers[key]

        self._spawn(terminate(), name=f"terminate-{key[0]}/{key[1]}")

    # -- the API server's side ----------------------------------------------------------------

    def delete_pod(
        self, namespace: str, name: str, *, grace_period_seconds: float | None = None
    ) -> dict[str, Any]:
        """Graceful pod deletion for the API server's DELETE.

        A pod with running containers gets ``deletionTimestamp`` and stays until its processes
        are gone; any other pod is removed at once. Returns the object as DELETE reports it.
        """
        pod = self.store.get(kinds.PODS, name, namespace=namespace)
        worker = self.workers.get((namespace, name))
        if worker is None or not worker.running or grace_period_seconds == 0:
            return self.store.delete(kinds.PODS, name, namespace=namespace)
        if pod["metadata"].get("deletionTimestamp"):
            return pod
        grace = worker.grace_seconds(grace_period_seconds)
        pod["metadata"]["deletionTimestamp"] = deletion_timestamp(grace)
        pod["metadata"]["deletionGracePeriodSeconds"] = int(grace)
        updated = self.store.replace(kinds.PODS, pod)
        worker.observe(updated)
        self._terminate(worker, grace, remove_object=True)
        return updated

    def _worker(self, namespace: str, name: str) -> tuple[dict[str, Any], PodWorker | None]:
        pod = self.store.get(kinds.PODS, name, namespace=namespace)
        worker = self.workers.get((namespace, name))
        if worker is not None and worker.uid != pod["metadata"].get("uid"):
            worker = None
        return pod, worker

    def exec_target(self, namespace: str, name: str, container: str | None) -> ExecTarget:
        """Where an exec runs; raises the errors the API server gives before upgrading."""
        pod, worker = self._worker(namespace, name)
        container = resolve_container(pod, container)
        if not pod["spec"].get("nodeName"):
            raise BadRequest(f"pod {name} does not have a host assigned")
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            raise BadRequest(
                f"cannot exec into a container in a completed pod; current phase is {phase}"
            )
        target = worker.exec_target(container) if worker is not None else None
        if target is None:
            raise BadRequest(f'unable to upgrade connection: container not found ("{container}")')
        return target

    def log_source(
        self, namespace: str, name: str, container: str | None, *, previous: bool = False
    ) -> LogSource:
        """The log a ``pods/log`` request reads; raises the API server's errors."""
        pod, worker = self._worker(namespace, name)
        container = resolve_container(pod, container)
        if worker is None:
            return static_log(pod, container, previous=previous)
        return worker.log_source(container, previous=previous)
