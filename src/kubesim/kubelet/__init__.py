"""kubesim's kubelet (and scheduler): runs the pods of the simulated cluster as processes.

It watches pods and nodes in the store; each pod gets a PodWorker that places it, "pulls"
its images from the catalogue, runs its containers as local processes with their paths
mapped into per-pod directories, and writes the pod's status back. The stream handlers
(``kubesim.streams``) find logs and exec targets through it.
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
from kubesim.kubelet.containers import ContainerRunner, ExecTarget
from kubesim.kubelet.context import KubeletContext, KubeletTimings
from kubesim.kubelet.logs import LogWriter, annotation_records
from kubesim.kubelet.pods import PodWorker, deletion_timestamp
from kubesim.kubelet.pulling import Catalogue

if TYPE_CHECKING:
    from kubesim.faults import Faults
    from kubesim.store import Store, Watch

log = logging.getLogger(__name__)

# A pod with this annotation (or with container statuses already written) is left alone: it
# stands for a pod some other kubelet runs, as kubesim's seed pods do.
STATIC_ANNOTATION = "kubesim.io/static"
# The log served for such a pod: ``kubesim.io/log.<container>`` or ``kubesim.io/log``, one
# ``<RFC3339Nano> <text>`` line each.
LOG_ANNOTATION = "kubesim.io/log"

__all__ = ["ExecTarget", "Kubelet", "KubeletTimings", "LogSource"]


class LogSource:
    """The log file of one container run and its writer while the run goes on; or, for a pod
    kubesim does not run, its CRI records in memory."""

    def __init__(self, path: Path | None, live: LogWriter | None, records: bytes = b"") -> None:
        self.path = path
        self.live = live
        self.records = records


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
            worker.stopping.set()
            worker.wake()
            await asyncio.gather(
                *(r.stop(0) for r in worker.init_runners + worker.runners),
                return_exceptions=True,
            )
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
            if event_type == "ADDED" and _managed(pod) and key not in self.workers:
                self._admit(key, pod)
            elif meta.get("deletionTimestamp") and not _managed(pod):
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
        running = worker is not None and any(
            r.run_ is not None for r in worker.init_runners + worker.runners
        )
        if worker is None or not running or grace_period_seconds == 0:
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
        container = resolve_container(pod, container, action="exec")
        if not pod["spec"].get("nodeName"):
            raise BadRequest(f"pod {name} does not have a host assigned")
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            raise BadRequest(
                f"cannot exec into a container in a completed pod; current phase is {phase}"
            )
        runner = worker.runner(container) if worker is not None else None
        if runner is None or runner.target is None:
            raise BadRequest(f'unable to upgrade connection: container not found ("{container}")')
        return runner.target

    def log_source(
        self, namespace: str, name: str, container: str | None, *, previous: bool = False
    ) -> LogSource:
        """The log a ``pods/log`` request reads; raises the API server's errors."""
        pod, worker = self._worker(namespace, name)
        container = resolve_container(pod, container, action="log")
        if worker is None:
            annotations = pod["metadata"].get("annotations") or {}
            text = annotations.get(f"{LOG_ANNOTATION}.{container}", annotations.get(LOG_ANNOTATION))
            return LogSource(None, None, annotation_records(str(text or "")))
        runner = worker.runner(container)
        assert runner is not None
        return _runner_log(pod, runner, previous=previous)


def _runner_log(pod: dict[str, Any], runner: ContainerRunner, *, previous: bool) -> LogSource:
    name = pod["metadata"]["name"]
    status = runner.status
    dirs = runner.owner.dirs
    if previous:
        path = dirs.log_file(runner.name, status.restart_count - 1)
        if status.restart_count < 1 or not path.exists():
            raise BadRequest(
                f'previous terminated container "{runner.name}" in pod "{name}" not found'
            )
        return LogSource(path, None)
    current = dirs.log_file(runner.name, status.restart_count)
    writer = runner.log_writer
    if writer is not None and writer.path == current:
        return LogSource(current, writer)
    if status.restart_count > 0:
        # Between runs (CrashLoopBackOff) the last run's log is what there is.
        last = dirs.log_file(runner.name, status.restart_count - 1)
        if last.exists():
            return LogSource(last, None)
    reason = status.waiting_reason or "ContainerCreating"
    detail = "trying and failing to pull image" if "Pull" in reason else reason
    raise BadRequest(f'container "{runner.name}" in pod "{name}" is waiting to start: {detail}')


def resolve_container(pod: dict[str, Any], container: str | None, *, action: str) -> str:
    """The container a request means, with the API server's errors for a wrong or missing one."""
    name = pod["metadata"]["name"]
    spec = pod.get("spec") or {}
    names = [str(c.get("name")) for c in spec.get("containers") or []]
    init_names = [str(c.get("name")) for c in spec.get("initContainers") or []]
    if not container:
        if len(names) == 1:
            return names[0]
        message = (
            f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
        )
        if init_names:
            message += f" or one of the init containers: [{' '.join(init_names)}]"
        raise BadRequest(message)
    if container not in names + init_names:
        raise BadRequest(f"container {container} is not valid for pod {name}")
    del action
    return container


def _managed(pod: dict[str, Any]) -> bool:
    annotations = pod["metadata"].get("annotations") or {}
    if str(annotations.get(STATIC_ANNOTATION, "")).lower() == "true":
        return False
    status = pod.get("status") or {}
    return not status.get("containerStatuses") and status.get("phase") not in (
        "Succeeded",
        "Failed",
    )
