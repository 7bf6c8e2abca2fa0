"""``KubernetesExecutor``: ``oc adm must-gather`` on the Kubernetes API (reference §1.3).

Images are resolved, a temporary namespace with its cluster-admin binding is made (or the
run namespace is used), one pod per image (and per node with a selector) gathers, at most
four at a time, and their data is copied into the work directory with oc's files around
it. When pods could not gather and no custom command was given, a local inspect runs.
Whatever happens (failure, timeout, cancel) the namespace is deleted unless ``keep``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from kubernetes_asyncio import client

from must_gather_api.durations import format_duration
from must_gather_api.executors.base import Job, Outcome, Output
from must_gather_api.executors.kubernetes import (
    events_page,
    images,
    inspecting,
    namespaces,
    nodes,
    recovery,
    waiting,
)
from must_gather_api.executors.kubernetes.calls import ClusterCalls
from must_gather_api.executors.kubernetes.console import Console
from must_gather_api.executors.kubernetes.errors import ClusterCallFailed, GatherError
from must_gather_api.executors.kubernetes.pods import DEFAULT_VOLUME_PERCENTAGE, PodOptions
from must_gather_api.executors.kubernetes.processing import (
    Copying,
    PodPlan,
    PodProcessor,
    process_all,
)
from must_gather_api.kube.access import ClusterAccess
from must_gather_api.reasons import UNEXPECTED
from must_gather_api.settings import GatherCredentials, Settings

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted by a restart"


@dataclass
class _State:
    """What the gathering created, so every path out can remove it."""

    place: namespaces.Place | None = None
    errors: list[GatherError] = field(default_factory=list)
    early: bool = False


@dataclass(frozen=True)
class Timings:
    """Intervals of the executor's loops; tests shorten them."""

    poll_interval: float = 2.0
    keep_alive_interval: float = 30.0
    cleanup_timeout: float = 60.0


class KubernetesExecutor:
    def __init__(
        self, access: ClusterAccess, settings: Settings, *, timings: Timings | None = None
    ) -> None:
        self._access = access
        self._settings = settings
        self._timings = timings or Timings()
        self._request_timeout = settings.cluster_request_timeout.total_seconds()
        self._margin = settings.gather_timeout_margin.total_seconds()
        self._limit: int | None = settings.max_archive_bytes or None

    # -- clients ----------------------------------------------------------------------------

    def _uses_caller(self) -> bool:
        return self._settings.gather_credentials is GatherCredentials.CALLER

    def _client(self, job: Job) -> client.ApiClient:
        if not self._uses_caller():
            if job.options.server:
                raise GatherError(
                    "the service's own account is never used against a request's server; "
                    "such gatherings need GATHER_CREDENTIALS=caller"
                )
            return self._access.api_client()
        token = job.credentials.token if job.credentials else ""
        if not token:
            raise GatherError(
                "GATHER_CREDENTIALS=caller but the gathering has no caller token "
                "(it is kept in memory only, so it does not survive a restart)"
            )
        return self._access.api_client(token=token, server=job.options.server)

    def _calls(self, api: client.ApiClient, deadline: float, console: Console) -> ClusterCalls:
        def retried(what: str, error: BaseException, delay: float) -> None:
            del error
            console.out(f"retrying in {delay:.1f}s: {what} failed for a transient reason")

        return ClusterCalls(
            api,
            request_timeout=self._request_timeout,
            deadline=deadline,
            on_retry=retried,
            other_server=api.configuration.host != self._access.configuration.host,
        )

    # -- the executor interface -------------------------------------------------------------

    async def run(self, job: Job, output: Output) -> Outcome:
        started = time.monotonic()
        console = Console(output, job.work_dir)
        await asyncio.to_thread(console.open)
        try:
            api = self._client(job)
        except GatherError as e:
            console.close()
            return Outcome(error_reason=e.reason)
        calls = self._calls(api, started + job.timeout.total_seconds(), console)
        state = _State()
        return await self._supervise(
            job, calls, console, state, self._gather(job, calls, console, state)
        )

    async def _supervise(
        self,
        job: Job,
        calls: ClusterCalls,
        console: Console,
        state: _State,
        pods: Coroutine[Any, Any, None],
    ) -> Outcome:
        """Runs ``pods`` beside the keep-alive, then concludes; whatever happens (a failure,
        a refused token, a cancel) removes what the gathering created, and closes."""
        reason = ""
        keep_alive = asyncio.create_task(
            waiting.keep_alive(calls, interval=self._timings.keep_alive_interval),
            name=f"gathering-{job.gathering_id}-keep-alive",
        )
        gathering = asyncio.create_task(pods, name=f"gathering-{job.gathering_id}-pods")
        try:
            await asyncio.wait({gathering, keep_alive}, return_when=asyncio.FIRST_COMPLETED)
            if not gathering.done():
                refused = keep_alive.exception()
                gathering.cancel()
                await asyncio.gather(gathering, return_exceptions=True)
                if isinstance(refused, GatherError):
                    state.errors.append(refused)
            else:
                gathering.result()
            reason = await self._conclude(job, calls, console, state)
        except asyncio.CancelledError:
            console.out("the gathering was cancelled; removing what it created in the cluster")
            raise
        except Exception:  # logged; its text may name files of the service, so not shown
            log.exception("gathering %d: the executor failed", job.gathering_id)
            reason = UNEXPECTED
        finally:
            for task in (gathering, keep_alive):
                task.cancel()
            await asyncio.gather(gathering, keep_alive, return_exceptions=True)
            leftover = await asyncio.shield(self._clean_up(job, calls, console, state))
            await asyncio.shield(calls.close())
            console.close()
        if leftover:
            reason = f"{reason}; {leftover}" if reason else leftover
        return Outcome(error_reason=reason)

    async def recover(self, job: Job, output: Output) -> Outcome | None:
        """Attach again to the pods an earlier process left running (``service`` credentials);
        otherwise remove what it left and say why, or None when nothing of it is left."""
        console = Console(output, job.work_dir)
        await asyncio.to_thread(console.open)
        if self._uses_caller() or job.options.server:
            try:
                return await self._abandon(job, console)
            finally:
                console.close()
        calls = self._calls(
            self._access.api_client(),
            time.monotonic() + job.timeout.total_seconds(),
            console,
        )
        try:
            found = await recovery.labelled(calls, job.gathering_id)
        except ClusterCallFailed as e:
            log.warning("gathering %d: cannot look for its pods: %s", job.gathering_id, e.reason)
            await calls.close()
            console.close()
            return None
        found_namespaces, found_pods = found
        if not found_namespaces and not found_pods:
            await calls.close()
            console.close()
            return None
        state = _State()
        if found_namespaces:
            state.place = namespaces.Place(found_namespaces[0]["metadata"]["name"], temporary=True)
        else:
            state.place = namespaces.Place(found_pods[0]["metadata"]["namespace"], temporary=False)
        return await self._supervise(
            job, calls, console, state, self._resume(job, calls, console, state, found_pods)
        )

    async def _resume(
        self,
        job: Job,
        calls: ClusterCalls,
        console: Console,
        state: _State,
        found: list[dict[str, Any]],
    ) -> None:
        options = job.options
        alive = [pod for pod in found if recovery.resumable(pod)]
        if not alive:
            state.errors.append(
                GatherError(
                    f"{INTERRUPTED}; its pods no longer run, so their data could not be copied"
                )
            )
            state.early = True
            return
        assert state.place is not None
        per_node = options.node_selector is not None
        processor = self.processor(
            job,
            calls,
            console,
            namespace=state.place.name,
            options=self.pod_options(job, has_master=False, candidates=[]),
            delete_pods=not state.place.temporary and not options.keep,
        )
        errors: list[GatherError] = []
        for pod in alive:
            spec = pod.get("spec") or {}
            name = str(pod["metadata"]["name"])
            console.out(f"resuming after a restart: attaching to pod {name} again")
            plan = PodPlan(
                image=str((spec.get("containers") or [{}])[0].get("image") or ""),
                node=str(spec.get("nodeName") or "") if per_node else "",
                per_node=per_node,
            )
            try:
                await processor.resume(name, plan)
            except GatherError as e:
                errors.append(e)
        state.errors += errors

    async def _abandon(self, job: Job, console: Console) -> Outcome | None:
        """GATHER_CREDENTIALS=caller: the token is gone with the old process; tidy up only."""
        service = self._service_calls(job, console)
        if service is None:
            return None
        try:
            found_namespaces, _ = await recovery.labelled(service, job.gathering_id)
        except ClusterCallFailed:
            await service.close()
            return None
        if not found_namespaces:
            await service.close()
            return None
        reason = await recovery.abandon(
            service,
            [n["metadata"]["name"] for n in found_namespaces],
            console,
            timeout=self._timings.cleanup_timeout,
        )
        return Outcome(error_reason=reason)

    # -- steps ------------------------------------------------------------------------------

    def pod_options(self, job: Job, *, has_master: bool, candidates: list[str]) -> PodOptions:
        options = job.options
        return PodOptions(
            gathering_id=job.gathering_id,
            source_dir=options.source_directory,
            command=options.command.value if options.command else None,
            volume_percentage=options.volume_percentage or DEFAULT_VOLUME_PERCENTAGE,
            host_network=options.host_network,
            since=format_duration(options.since.value) if options.since else "",
            since_time=options.since_time.text if options.since_time else "",
            has_master=has_master,
            candidates=tuple(candidates),
        )

    def processor(
        self,
        job: Job,
        calls: ClusterCalls,
        console: Console,
        *,
        namespace: str,
        options: PodOptions,
        delete_pods: bool,
    ) -> PodProcessor:
        return PodProcessor(
            calls,
            namespace=namespace,
            options=options,
            console=console,
            copying=Copying(
                work_dir=job.work_dir,
                scratch_dir=job.work_dir.parent,
                source_dir=job.options.source_directory,
                deadline=calls.deadline + self._margin,
                limit=self._limit,
                max_entries=self._settings.max_archive_entries or None,
            ),
            poll_interval=self._timings.poll_interval,
            delete_pods=delete_pods,
        )

    async def _gather(self, job: Job, calls: ClusterCalls, console: Console, state: _State) -> None:
        options = job.options
        try:
            chosen = await images.resolve_images(
                calls,
                images=options.image_names,
                stream=options.image_stream.text if options.image_stream else "",
                all_images=options.all_images,
                fallback=self._settings.must_gather_image,
                console=console,
            )
            if options.run_namespace:
                state.place = await namespaces.existing(calls, options.run_namespace)
            else:
                try:
                    state.place = await namespaces.create_temporary(
                        calls, job.gathering_id, console
                    )
                except namespaces.PlaceIncomplete as e:
                    state.place = e.place
                    raise
            targets = await nodes.choose(
                calls,
                node_name=options.node_name,
                node_selector=options.node_selector.text if options.node_selector else "",
            )
        except GatherError as e:
            state.errors.append(e)
            state.early = True
            return
        await asyncio.to_thread(console.stamp)
        pod_options = self.pod_options(
            job, has_master=targets.has_master, candidates=targets.candidates
        )
        processor = self.processor(
            job,
            calls,
            console,
            namespace=state.place.name,
            options=pod_options,
            delete_pods=not state.place.temporary and not options.keep,
        )
        plans = [
            PodPlan(image=image, node=node, per_node=targets.per_node)
            for image in chosen
            for node in targets.nodes
        ]
        state.errors += await process_all(processor, plans)

    async def _conclude(
        self, job: Job, calls: ClusterCalls, console: Console, state: _State
    ) -> str:
        await asyncio.to_thread(events_page.write_page, job.work_dir)
        if not state.early:
            await asyncio.to_thread(console.stamp)
        reasons = [error.reason for error in state.errors]
        if state.errors and (job.options.command is None or state.early):
            console.out("Error running must-gather collection: " + "; ".join(reasons))
            inspected = await inspecting.fallback(
                calls.bounded(calls.deadline + self._margin), job.work_dir, console
            )
            reasons.append(inspected)
        return "; ".join(reasons)

    async def _clean_up(
        self, job: Job, calls: ClusterCalls, console: Console, state: _State
    ) -> str:
        """Deletes the temporary namespace (its binding goes with it); says what is left."""
        place = state.place
        if place is None or not place.temporary:
            return ""
        if job.options.keep:
            console.out(f"keeping namespace/{place.name} as asked (keep)")
            return ""
        return await recovery.delete_namespaces(
            calls,
            [place.name],
            console,
            timeout=self._timings.cleanup_timeout,
            gathering_id=job.gathering_id,
            service=None if not self._uses_caller() else self._service_calls(job, console),
        )

    def _service_calls(self, job: Job, console: Console) -> ClusterCalls | None:
        """The service's own identity, for cleaning up when the caller's token stopped working."""
        if job.options.server:
            return None  # its own identity is never sent to a request's server
        try:
            api = self._access.api_client()
        except Exception:  # the service may have no usable identity of its own
            return None
        return self._calls(api, time.monotonic() + self._timings.cleanup_timeout, console)
