"""One pod from scheduling to removal: the scheduler's and the kubelet's work for it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kubesim import kinds
from kubesim.errors import BadRequest, KubesimError, NotFound
from kubesim.kubelet import events, scheduling
from kubesim.kubelet.containers import ContainerRunner, ExecTarget
from kubesim.kubelet.context import KubeletContext
from kubesim.kubelet.rootfs import PodDirs, prepare_volumes, remove_pod_dirs
from kubesim.kubelet.sources import LogSource, runner_log
from kubesim.kubelet.status import (
    POD_INITIALIZING,
    merge_conditions,
    pod_conditions,
    pod_phase,
)
from kubesim.store import now_rfc3339

log = logging.getLogger(__name__)

_LOOKUP_KINDS = {"configmaps": kinds.CONFIG_MAPS, "secrets": kinds.SECRETS}


def node_ip(node: Mapping[str, Any] | None) -> str:
    for address in ((node or {}).get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP" and address.get("address"):
            return str(address["address"])
    return "192.168.126.10"


class PodWorker:
    """Schedules, starts and stops one pod; its containers run as ContainerRunners."""

    def __init__(
        self,
        ctx: KubeletContext,
        pod: dict[str, Any],
        *,
        pods_per_node: Callable[[], Mapping[str, int]],
    ) -> None:
        self.ctx = ctx
        self._pod = pod
        meta = pod["metadata"]
        self.namespace = str(meta.get("namespace", "default"))
        self.name = str(meta["name"])
        self.uid = str(meta["uid"])
        self.dirs = PodDirs.for_pod(ctx.state_dir, pod)
        self.volumes: dict[str, Path] = {}
        self.stopping = asyncio.Event()
        self.node_name = str(pod["spec"].get("nodeName") or "")
        self.node_ready = True
        self.scheduled = bool(self.node_name)
        self.unschedulable_message = ""
        self.sandbox_ready = False
        self.pod_ip = ""
        self.host_ip = ""
        self.start_time = ""
        self._wakeup = asyncio.Event()
        self._pods_per_node = pods_per_node
        spec = pod["spec"]
        self.init_runners = [
            ContainerRunner(self, c, init=True) for c in spec.get("initContainers") or []
        ]
        self.runners = [ContainerRunner(self, c) for c in spec.get("containers") or []]
        if self.init_runners:
            for runner in self.runners:
                runner.status.set_waiting(POD_INITIALIZING)
        self.task: asyncio.Task[None] | None = None
        self.terminating = False

    # -- what the containers and the kubelet see ----------------------------------------------

    @property
    def pod(self) -> dict[str, Any]:
        return self._pod

    def observe(self, pod: dict[str, Any]) -> None:
        """A newer version of the object from the watch."""
        self._pod = pod

    def runner(self, name: str) -> ContainerRunner | None:
        return next((r for r in self.all_runners if r.name == name), None)

    @property
    def all_runners(self) -> list[ContainerRunner]:
        return self.init_runners + self.runners

    @property
    def running(self) -> bool:
        """Whether any container of the pod has a process now."""
        return any(r.running for r in self.all_runners)

    def log_source(self, container: str, *, previous: bool) -> LogSource:
        runner = self.runner(container)
        if runner is None:
            raise BadRequest(f"container {container} is not valid for pod {self.name}")
        return runner_log(self, runner, previous=previous)

    def exec_target(self, container: str) -> ExecTarget | None:
        runner = self.runner(container)
        return runner.target if runner is not None else None

    async def kill_now(self) -> None:
        """Stops every container at once, for the kubelet's own shutdown."""
        self.stopping.set()
        self.wake()
        await asyncio.gather(*(r.stop(0) for r in self.all_runners), return_exceptions=True)

    def wake(self) -> None:
        self._wakeup.set()

    def lookup(self, kind: str, name: str) -> Mapping[str, Any] | None:
        try:
            return self.ctx.store.get(_LOOKUP_KINDS[kind], name, namespace=self.namespace)
        except KubesimError:
            return None

    def event(
        self, reason: str, message: str, *, warning: bool = False, container: str | None = None
    ) -> None:
        events.record(
            self.ctx.store,
            self._pod,
            reason,
            message,
            warning=warning,
            container=container,
            host=self.node_name or None,
        )

    def publish(self) -> None:
        """Writes the pod's status as the kubelet sees it now."""
        try:
            stored = self.ctx.store.get(kinds.PODS, self.name, namespace=self.namespace)
        except NotFound:
            return
        if stored["metadata"].get("uid") != self.uid:
            return
        old = stored.get("status") or {}
        status: dict[str, Any] = {"qosClass": old.get("qosClass", "BestEffort")}
        if not self.scheduled:
            status["phase"] = "Pending"
            status["conditions"] = merge_conditions(
                old.get("conditions") or [],
                pod_conditions(
                    phase="Pending",
                    scheduled=False,
                    sandbox_ready=False,
                    containers=[],
                    unschedulable_message=self.unschedulable_message,
                ),
            )
        elif not self.sandbox_ready:
            status["phase"] = "Pending"
            status["conditions"] = merge_conditions(
                old.get("conditions") or [],
                [{"type": "PodScheduled", "status": "True"}],
            )
        else:
            policy = str(self._pod["spec"].get("restartPolicy", "Always"))
            statuses = [r.status for r in self.runners]
            init_statuses = [r.status for r in self.init_runners]
            phase = pod_phase(policy, statuses, init_statuses)
            status["phase"] = phase
            status["conditions"] = merge_conditions(
                old.get("conditions") or [],
                pod_conditions(
                    phase=phase,
                    scheduled=True,
                    sandbox_ready=True,
                    containers=statuses,
                    init_containers=init_statuses,
                    node_ready=self.node_ready,
                ),
            )
            status["hostIP"] = self.host_ip
            status["hostIPs"] = [{"ip": self.host_ip}]
            status["podIP"] = self.pod_ip
            status["podIPs"] = [{"ip": self.pod_ip}]
            status["startTime"] = self.start_time
            status["containerStatuses"] = [
                s.as_json(node_ready=self.node_ready)
                for s in sorted(statuses, key=lambda s: s.name)
            ]
            if init_statuses:
                status["initContainerStatuses"] = [s.as_json() for s in init_statuses]
        stored["status"] = status
        self._pod = self.ctx.store.replace(kinds.PODS, stored)

    # -- the pod's life ------------------------------------------------------------------------

    async def run(self) -> None:
        if not await self._place():
            return
        if not await self._await_node():
            return
        await self._start_sandbox()
        for init in self.init_runners:
            await init.run()
            term = init.status.terminated
            if self.stopping.is_set() or term is None or term.get("exitCode") != 0:
                self.publish()
                return
        self.publish()
        tasks = [
            asyncio.create_task(r.run(), name=f"container-{self.namespace}/{self.name}/{r.name}")
            for r in self.runners
        ]
        try:
            results = await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            for task in tasks:
                task.cancel()
        for runner, result in zip(self.runners, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                log.error(
                    "container %s of pod %s/%s failed",
                    runner.name,
                    self.namespace,
                    self.name,
                    exc_info=result,
                )

    async def _wait(self, seconds: float) -> None:
        self._wakeup.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), seconds)

    async def _place(self) -> bool:
        store = self.ctx.store
        while not self.stopping.is_set():
            if self.node_name:
                return True
            placement = scheduling.place(
                self._pod, store.list(kinds.NODES), pods_per_node=self._pods_per_node()
            )
            if placement.node is not None:
                try:
                    pod = store.get(kinds.PODS, self.name, namespace=self.namespace)
                except NotFound:
                    return False
                pod["spec"]["nodeName"] = placement.node
                self._pod = store.replace(kinds.PODS, pod)
                self.node_name = placement.node
                self.scheduled = True
                events.record(
                    store,
                    self._pod,
                    "Scheduled",
                    f"Successfully assigned {self.namespace}/{self.name} to {placement.node}",
                    component=events.SCHEDULER,
                )
                self.publish()
                return True
            if placement.message != self.unschedulable_message:
                self.unschedulable_message = placement.message
                events.record(
                    store,
                    self._pod,
                    "FailedScheduling",
                    placement.message,
                    warning=True,
                    component=events.SCHEDULER,
                )
                self.publish()
            await self._wait(self.ctx.timings.schedule_retry_seconds)
        return False

    def _node(self) -> dict[str, Any] | None:
        try:
            return self.ctx.store.get(kinds.NODES, self.node_name)
        except NotFound:
            return None

    async def _await_node(self) -> bool:
        """A pod bound to a node runs once that node exists and is Ready."""
        while not self.stopping.is_set():
            node = self._node()
            if scheduling.can_run_on(node):
                self.host_ip = node_ip(node)
                return True
            await self._wait(self.ctx.timings.schedule_retry_seconds)
        return False

    async def _start_sandbox(self) -> None:
        store = self.ctx.store
        config_maps = {
            o["metadata"]["name"]: o
            for o in store.list(kinds.CONFIG_MAPS, namespace=self.namespace)
        }
        secrets = {
            o["metadata"]["name"]: o for o in store.list(kinds.SECRETS, namespace=self.namespace)
        }
        self.volumes = await asyncio.to_thread(
            prepare_volumes,
            self.dirs,
            self._pod["spec"].get("volumes") or [],
            config_maps=config_maps,
            secrets=secrets,
        )
        self.pod_ip = self.ctx.next_pod_ip()
        self.start_time = now_rfc3339()
        self.sandbox_ready = True

    def set_node_ready(self, ready: bool) -> None:
        if ready != self.node_ready:
            self.node_ready = ready
            if self.sandbox_ready:
                self.publish()

    # -- the end ------------------------------------------------------------------------------

    def grace_seconds(self, requested: float | None = None) -> float:
        if requested is not None:
            return max(requested, 0.0)
        meta_grace = self._pod["metadata"].get("deletionGracePeriodSeconds")
        if meta_grace is not None:
            return float(meta_grace)
        spec_grace = self._pod["spec"].get("terminationGracePeriodSeconds")
        return (
            float(spec_grace) if spec_grace is not None else self.ctx.timings.default_grace_seconds
        )

    async def terminate(self, grace_seconds: float, *, remove_object: bool) -> None:
        """Stops every container (SIGTERM, SIGKILL after the grace), then removes the pod."""
        self.terminating = True
        self.stopping.set()
        self.wake()
        await asyncio.gather(
            *(r.stop(grace_seconds) for r in self.all_runners),
            return_exceptions=True,
        )
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if remove_object:
            with contextlib.suppress(NotFound):
                stored = self.ctx.store.get(kinds.PODS, self.name, namespace=self.namespace)
                if stored["metadata"].get("uid") == self.uid:
                    self.ctx.store.delete(kinds.PODS, self.name, namespace=self.namespace)
        await asyncio.to_thread(remove_pod_dirs, self.dirs)


def deletion_timestamp(grace_seconds: float) -> str:
    when = datetime.now(UTC) + timedelta(seconds=grace_seconds)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
