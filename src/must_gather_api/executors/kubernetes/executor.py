"""``KubernetesExecutor``: ``oc adm must-gather`` on the Kubernetes API.

Images are resolved, a temporary namespace with its cluster-admin binding is made (or the
run namespace is used), one pod per image (and per node with a selector) gathers, at most
four at a time, and their data is copied into the work directory with oc's files around
it. When pods could not gather and no custom command was given, a local inspect runs.

Each run owns what it makes through one ``AsyncExitStack``, entered in the order things
are made and closed in reverse: the console file, the API clients, then the namespace (its
binding goes with it), so whatever happens (failure, timeout, cancel) the namespace is
deleted, unless ``keep``, before the clients close. Each pod is deleted by its processor
as soon as its data is copied (``processing.PodProcessor``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from kubernetes_asyncio import client

from must_gather_api.errors import FailureKind
from must_gather_api.executors.base import INTERRUPTED, Failure, Job, Outcome, Output
from must_gather_api.executors.kubernetes import (
    cluster_summary,
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
from must_gather_api.executors.kubernetes.pods import PodOptions
from must_gather_api.executors.kubernetes.processing import (
    CopyPlan,
    PodPlan,
    PodProcessor,
    process_all,
)
from must_gather_api.kube.access import ClusterAccess
from must_gather_api.reasons import UNEXPECTED
from must_gather_api.settings import GatherCredentials, Settings

log = logging.getLogger(__name__)


def overtime(margin: float) -> float:
    """How long copies and the inspect fallback may go on past a gathering's timeout: the
    margin less a reserve (a quarter, at most 30 s). The runner's hard limit is the timeout
    plus the whole margin, counted from a little earlier; without the reserve, calls that
    retry to their deadline meet it, and the gathering reports "timed out" where it should
    give the calls' own reason."""
    return margin - min(margin / 4, 30.0)


@dataclass(frozen=True)
class Timings:
    """Intervals of the executor's loops; tests shorten them."""

    poll_interval: float = 2.0
    keep_alive_interval: float = 30.0
    cleanup_timeout: float = 60.0


@dataclass(frozen=True)
class _Run:
    """One gathering's run: its job, its clients, its console, and what its exit stack
    could not remove from the cluster (``left``, filled in as the stack closes)."""

    job: Job
    calls: ClusterCalls
    console: Console
    resources: AsyncExitStack
    left: list[Failure] = field(default_factory=list)
    summaries: cluster_summary.ClusterSummaries = field(
        default_factory=cluster_summary.ClusterSummaries
    )


@dataclass(frozen=True)
class _Gathered:
    """What the pods ended with; ``before_pods``: the failures came before any pod ran (so
    no timestamp, and the inspect runs)."""

    failures: tuple[Failure, ...] = ()
    before_pods: bool = False


class KubernetesExecutor:
    def __init__(
        self,
        access: ClusterAccess,
        settings: Settings,
        *,
        timings: Timings | None = None,
        raw_copies: bool = False,
    ) -> None:
        """With ``raw_copies`` (the service's way), each pod's raw tar copy is kept beside
        the work directory (``archive.raw_copies``) for the archive to be built from in one
        pass, and neither it nor ``event-filter.html`` goes into the tree; without, the work
        directory holds the whole tree, as ``oc adm must-gather`` leaves it."""
        self._raw_copies = raw_copies
        self._access = access
        self._settings = settings
        self._timings = timings or Timings()
        self._request_timeout = settings.cluster_request_timeout.total_seconds()
        self._overtime = overtime(settings.gather_timeout_margin.total_seconds())
        self._limit: int | None = settings.max_archive_bytes or None

    # -- the executor interface -------------------------------------------------------------

    async def run(self, job: Job, output: Output) -> Outcome:
        left: list[Failure] = []
        async with AsyncExitStack() as resources:
            console = await resources.enter_async_context(Console(output, job.work_dir))
            try:
                api = self._client(job)
            except GatherError as e:
                return Outcome(failures=(Failure.of(e),))
            deadline = time.monotonic() + job.timeout.total_seconds()
            calls = await resources.enter_async_context(self._calls(api, deadline, console))
            run = _Run(job, calls, console, resources, left)
            resources.push_async_exit(run.summaries.end)  # so it runs after the namespace goes
            outcome = await self._supervise(run, self._gather(run))
        return dataclasses.replace(outcome, left=tuple(left))

    async def recover(self, job: Job, output: Output) -> Outcome | None:
        """Attach again to the pods an earlier process left running (``service`` credentials);
        otherwise remove what it left and say why, or None when nothing of it is left."""
        left: list[Failure] = []
        async with AsyncExitStack() as resources:
            console = await resources.enter_async_context(Console(output, job.work_dir))
            if self._uses_caller() or job.options.server:
                return await self._abandon(job, console, resources)
            deadline = time.monotonic() + job.timeout.total_seconds()
            calls = await resources.enter_async_context(
                self._calls(self._access.api_client(), deadline, console)
            )
            try:
                found_namespaces, found_pods = await recovery.labelled(
                    calls, job.gathering_id, instance=self._settings.instance
                )
            except ClusterCallFailed as e:
                log.warning(
                    "gathering %d: cannot look for its pods: %s", job.gathering_id, e.reason
                )
                return None
            if not found_namespaces and not found_pods:
                return None
            run = _Run(job, calls, console, resources, left)
            resources.push_async_exit(run.summaries.end)  # after the namespace goes, as in run
            run.summaries.resumed(calls, console)
            if found_namespaces:
                place = namespaces.Place(found_namespaces[0]["metadata"]["name"], temporary=True)
            else:
                place = namespaces.Place(found_pods[0]["metadata"]["namespace"], temporary=False)
            self._own(run, place)
            outcome = await self._supervise(run, self._resume(run, place, found_pods))
        return dataclasses.replace(outcome, left=tuple(left))

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

    @contextlib.asynccontextmanager
    async def _service_calls(
        self, job: Job, console: Console
    ) -> AsyncIterator[ClusterCalls | None]:
        """The service's own identity, for cleaning up when the caller's token stopped
        working (GATHER_CREDENTIALS=caller); None where it must not or cannot be used."""
        if not self._uses_caller() or job.options.server:
            yield None  # its own identity is never sent to a request's server
            return
        try:
            api = self._access.api_client()
        except Exception:  # the service may have no usable identity of its own
            yield None
            return
        deadline = time.monotonic() + self._timings.cleanup_timeout
        async with self._calls(api, deadline, console) as calls:
            yield calls

    # -- the run ----------------------------------------------------------------------------

    async def _supervise(self, run: _Run, pods: Coroutine[Any, Any, _Gathered]) -> Outcome:
        """Runs ``pods`` beside the keep-alive, then concludes. A refused token (the
        keep-alive's 401) stops the pods; the run's exit stack removes what was made."""
        job = run.job
        keep_alive = asyncio.create_task(
            waiting.keep_alive(run.calls, interval=self._timings.keep_alive_interval),
            name=f"gathering-{job.gathering_id}-keep-alive",
        )
        gathering = asyncio.create_task(pods, name=f"gathering-{job.gathering_id}-pods")
        try:
            await asyncio.wait({gathering, keep_alive}, return_when=asyncio.FIRST_COMPLETED)
            if gathering.done():
                gathered = gathering.result()
            else:
                refused = keep_alive.exception()
                gathering.cancel()
                await asyncio.gather(gathering, return_exceptions=True)
                failures = (Failure.of(refused),) if isinstance(refused, GatherError) else ()
                gathered = _Gathered(failures=failures)
            return await self._conclude(run, gathered)
        except asyncio.CancelledError:
            run.console.out("the gathering was cancelled; removing what it created in the cluster")
            raise
        except Exception:  # logged; its text may name files of the service, so not shown
            log.exception("gathering %d: the executor failed", job.gathering_id)
            return Outcome.failed(FailureKind.INTERNAL, UNEXPECTED)
        finally:
            for task in (gathering, keep_alive):
                task.cancel()
            await asyncio.gather(gathering, keep_alive, return_exceptions=True)

    async def _gather(self, run: _Run) -> _Gathered:
        options, calls, console = run.job.options, run.calls, run.console
        try:
            chosen = await images.resolve_images(
                calls,
                images=options.image_names,
                stream=options.image_stream.value if options.image_stream else None,
                all_images=options.all_images,
                fallback=self._settings.must_gather_image,
                console=console,
            )
            await run.summaries.start(calls, console)
            if options.run_namespace:
                place = await namespaces.existing(calls, options.run_namespace)
            else:
                try:
                    place = await namespaces.create_temporary(
                        calls,
                        run.job.gathering_id,
                        console,
                        instance=self._settings.instance,
                        ledger=run.job.ledger,
                    )
                except namespaces.PlaceIncomplete as e:
                    self._own(run, e.place)
                    raise
            self._own(run, place)
            targets = await nodes.choose(
                calls,
                node_name=options.node_name,
                node_selector=options.node_selector.text if options.node_selector else "",
            )
        except GatherError as e:
            return _Gathered(failures=(Failure.of(e),), before_pods=True)
        await asyncio.to_thread(console.stamp)
        processor = self.processor(
            run.job,
            calls,
            console,
            namespace=place.name,
            options=PodOptions.of(
                run.job,
                has_master=targets.has_master,
                candidates=targets.candidates,
                instance=self._settings.instance,
            ),
            delete_pods=not place.temporary and not options.keep,
        )
        plans = [
            PodPlan(image=image, node=node, per_node=targets.per_node)
            for image in chosen
            for node in targets.nodes
        ]
        errors = await process_all(processor, plans)
        return _Gathered(failures=tuple(Failure.of(error) for error in errors))

    async def _resume(
        self, run: _Run, place: namespaces.Place, found: list[dict[str, Any]]
    ) -> _Gathered:
        options = run.job.options
        alive = [pod for pod in found if recovery.resumable(pod)]
        if not alive:
            reason = (
                f"{run.job.interruption}; its pods no longer run, so their data could not be copied"
            )
            return _Gathered((Failure(FailureKind.INTERRUPTED, reason),), before_pods=True)
        per_node = options.node_selector is not None
        processor = self.processor(
            run.job,
            run.calls,
            run.console,
            namespace=place.name,
            options=PodOptions.of(run.job, instance=self._settings.instance),
            delete_pods=not place.temporary and not options.keep,
        )
        failures: list[Failure] = []
        interruption = run.job.interruption
        why = "after a restart" if interruption == INTERRUPTED else f"({interruption})"
        for pod in alive:
            spec = pod.get("spec") or {}
            name = str(pod["metadata"]["name"])
            run.console.out(f"resuming {why}: attaching to pod {name} again")
            plan = PodPlan(
                image=str((spec.get("containers") or [{}])[0].get("image") or ""),
                node=str(spec.get("nodeName") or "") if per_node else "",
                per_node=per_node,
            )
            try:
                await processor.resume(name, plan)
            except GatherError as e:
                failures.append(Failure.of(e))
        return _Gathered(failures=tuple(failures))

    async def _conclude(self, run: _Run, gathered: _Gathered) -> Outcome:
        job, console = run.job, run.console
        if not self._raw_copies:  # otherwise the one pass writes it, from the raw copies
            await asyncio.to_thread(events_page.write_page, job.work_dir)
        if not gathered.before_pods:
            await asyncio.to_thread(console.stamp)
        outcome = Outcome(failures=gathered.failures)
        if gathered.failures and (job.options.command is None or gathered.before_pods):
            console.out("Error running must-gather collection: " + outcome.error_reason)
            inspected = await inspecting.fallback(
                run.calls.bounded(run.calls.deadline + self._overtime), job.work_dir, console
            )
            outcome = dataclasses.replace(outcome, gathered=(inspected,))
        return outcome

    # -- what the run owns in the cluster ---------------------------------------------------

    def _own(self, run: _Run, place: namespaces.Place) -> None:
        """``place`` is removed when the run's exit stack closes, if it is ours to remove."""
        if not place.temporary:
            return
        if run.job.options.keep:
            run.resources.callback(
                run.console.out, f"keeping namespace/{place.name} as asked (keep)"
            )
            if run.job.ledger is not None:  # kept on purpose: not a leftover to report
                run.resources.push_async_callback(run.job.ledger.removed, place.name)
            return
        run.resources.push_async_callback(self._remove, run, place)

    async def _remove(self, run: _Run, place: namespaces.Place) -> None:
        """Deletes the temporary namespace (its binding goes with it), shielded from a
        cancel; what could not be deleted goes to ``run.left``. Handed over, it stays for
        the next holder (still written in the ledger: that holder removes it)."""
        if run.job.handover.is_set():
            run.console.out(f"leaving namespace/{place.name} to the next holder of the gathering")
            return

        async def delete() -> tuple[Failure, ...]:
            async with self._service_calls(run.job, run.console) as service:
                return await recovery.delete_namespaces(
                    run.calls,
                    [place.name],
                    run.console,
                    timeout=self._timings.cleanup_timeout,
                    instance=self._settings.instance,
                    gathering_id=run.job.gathering_id,
                    service=service,
                    ledger=run.job.ledger,
                )

        run.left.extend(await asyncio.shield(delete()))

    async def _abandon(
        self, job: Job, console: Console, resources: AsyncExitStack
    ) -> Outcome | None:
        """GATHER_CREDENTIALS=caller: the token is gone with the old process; tidy up only."""
        service = await resources.enter_async_context(self._service_calls(job, console))
        if service is None:
            return None
        names = list(await job.ledger.recorded()) if job.ledger is not None else []
        try:
            found_namespaces, _ = await recovery.labelled(
                service, job.gathering_id, instance=self._settings.instance
            )
            names += [n["metadata"]["name"] for n in found_namespaces]
        except ClusterCallFailed as e:
            # deploy/'s RBAC gives the service no list: the recorded names are what it has.
            log.info("gathering %d: cannot list its namespaces: %s", job.gathering_id, e.reason)
        if not names:
            return None
        return await recovery.abandon(
            service,
            list(dict.fromkeys(names)),
            console,
            timeout=self._timings.cleanup_timeout,
            instance=self._settings.instance,
            ledger=job.ledger,
            interruption=job.interruption,
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
            copying=CopyPlan(
                work_dir=job.work_dir,
                scratch_dir=job.work_dir.parent,
                source_dir=job.options.source_directory,
                deadline=calls.deadline + self._overtime,
                limit=self._limit,
                max_entries=self._settings.max_archive_entries or None,
                keep_raw=self._raw_copies,
            ),
            poll_interval=self._timings.poll_interval,
            delete_pods=delete_pods,
            handover=job.handover,
        )
