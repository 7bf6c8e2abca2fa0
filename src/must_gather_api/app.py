"""The application: ``create_app(settings)`` wires the store, runner, cleanup and API.

Everything that holds a resource is opened in the lifespan and closed when it ends,
in reverse order; the runner gets the shutdown grace period to let running
gatherings finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from must_gather_api import __version__, spares
from must_gather_api.api import (
    cores,
    files,
    forklift,
    gatherings,
    health,
    kube,
    problems,
    redaction_report,
    summaries,
    ui,
)
from must_gather_api.api.deps import Services
from must_gather_api.api.metrics import Metrics
from must_gather_api.api.quotas import FollowStreams
from must_gather_api.auth.base import Authenticator, NoAuthentication
from must_gather_api.auth.kubernetes import KubernetesAuthenticator
from must_gather_api.cores.collection import CoreCollector
from must_gather_api.cores.service import Cores
from must_gather_api.errors import ConfigurationError
from must_gather_api.executors.base import Executor
from must_gather_api.executors.kubernetes import KubernetesExecutor, remove_stale_namespaces
from must_gather_api.executors.unconfigured import UnconfiguredExecutor
from must_gather_api.gatherings.cleanup import Cleaner
from must_gather_api.gatherings.indexes import ArchiveIndexes
from must_gather_api.gatherings.kubeviews import KubeViews
from must_gather_api.gatherings.layout import Layout
from must_gather_api.gatherings.leadership import Leadership
from must_gather_api.gatherings.leases import Lease
from must_gather_api.gatherings.records import Status
from must_gather_api.gatherings.runner import Runner, RunnerOptions
from must_gather_api.gatherings.store import GatheringStore
from must_gather_api.gatherings.tails import ListTails
from must_gather_api.kube.access import ClusterAccess
from must_gather_api.redaction import DEFAULT_CONFIG, load_config_file
from must_gather_api.settings import (
    AuthMode,
    GatherCredentials,
    ListScope,
    Permission,
    Settings,
    replica_identity,
)

log = logging.getLogger(__name__)


async def _cluster_access(settings: Settings) -> ClusterAccess | ConfigurationError:
    try:
        return await ClusterAccess.load(settings)
    except ConfigurationError as e:
        return e


def _default_executor(settings: Settings, access: ClusterAccess | ConfigurationError) -> Executor:
    if isinstance(access, ConfigurationError):
        # The service still serves what it has; new gatherings end at once, saying why.
        log.warning("gatherings cannot run: %s", access.message)
        return UnconfiguredExecutor(access.message)
    # Pods' raw copies are kept and the archive built from them in one pass (finishing).
    return KubernetesExecutor(access, settings, raw_copies=True)


def _default_authenticator(
    settings: Settings, access: ClusterAccess | ConfigurationError
) -> Authenticator:
    if settings.auth is AuthMode.NONE:
        return NoAuthentication()
    if isinstance(access, ConfigurationError):
        raise access  # never fail open: without a cluster no one can be let in
    return KubernetesAuthenticator(access=access, settings=settings)


def _cores(settings: Settings, access: ClusterAccess | ConfigurationError) -> Cores:
    if isinstance(access, ConfigurationError):
        return Cores(None, settings, why=access.message)
    return Cores(access, settings)


async def _tidy_cluster(store: GatheringStore, access: ClusterAccess, settings: Settings) -> None:
    """Delete our namespaces left by gatherings that are over or unknown; name those that
    cannot be deleted, with the command that removes them."""
    active = {g.id for g in await store.find_all(status=Status.NEW)}
    active |= {g.id for g in await store.find_all(status=Status.INPROGRESS)}
    recorded = await store.leftover_namespaces()
    api = access.api_client()
    try:
        tidied = await remove_stale_namespaces(
            api,
            active_ids=active,
            instance=settings.instance,
            recorded=recorded,
            sweep=settings.gather_credentials is GatherCredentials.SERVICE,
        )
    finally:
        await api.close()
    for name in tidied.gone:
        await store.forget_namespace(name)
    if tidied.deleted:
        log.info("removed %d leftover objects of earlier gatherings", tidied.deleted)
    if tidied.left:
        names = " ".join(name for _, name, _ in tidied.left)
        log.warning(
            "LEFTOVER: %d namespaces of earlier gatherings could not be deleted with the "
            "service's account (%s); a cluster admin removes them with: "
            "kubectl delete namespace %s",
            len(tidied.left),
            "; ".join(f"gathering {g}: {why}" for g, _, why in tidied.left),
            names,
        )


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("%s failed", task.get_name(), exc_info=error)


_CLUSTER_ADMIN = Permission(verb="*", group="*", resource="*", namespace="*")


def warn_of_exposure(settings: Settings) -> list[str]:
    """Log (and return) one warning per setting combination that hands callers more than
    the cluster gives them; see docs/security.md."""
    if settings.auth is AuthMode.NONE or settings.required_permission == _CLUSTER_ADMIN:
        return []
    warnings = []
    if settings.gather_credentials is GatherCredentials.SERVICE and not settings.allowed_images:
        warnings.append(
            "RISK: GATHER_CREDENTIALS=service with AUTH_* narrower than cluster-admin: every "
            "allowed caller gets archives gathered with the service's cluster-admin account "
            "(resources and logs of every namespace); callers without AUTH_ADMIN_* may run only "
            "MUST_GATHER_IMAGE (set ALLOWED_IMAGES for more)"
        )
    if settings.list_scope is ListScope.ALL:
        warnings.append(
            "RISK: LIST_SCOPE=all with AUTH_* narrower than cluster-admin: every allowed caller "
            "may list, download and delete every gathering; set LIST_SCOPE=own"
        )
    for warning in warnings:
        log.warning("%s", warning)
    return warnings


def create_app(
    settings: Settings,
    *,
    executor: Executor | None = None,
    authenticator: Authenticator | None = None,
) -> FastAPI:
    """The ASGI application. ``executor`` and ``authenticator`` replace the defaults (tests).

    Raises ConfigurationError for AUTH=none on an address other than loopback: whoever
    builds the app (``serve``, the demo, an ASGI server of one's own) gets the same guard.
    """
    exposed = authenticator is None and settings.auth is AuthMode.NONE
    if exposed and not settings.listens_on_loopback_only():
        host, _ = settings.listen_address()
        raise ConfigurationError(
            "AUTH=none is only allowed when the service listens on loopback; it would "
            f"listen on {host} (set HOST=127.0.0.1)"
        )
    warn_of_exposure(settings)
    redaction = (
        load_config_file(settings.redaction_config)
        if settings.redaction_config is not None
        else DEFAULT_CONFIG
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        layout = Layout(settings.data_dir)
        await asyncio.to_thread(layout.root.mkdir, parents=True, exist_ok=True)
        # Core dumps are read with the service's own identity whatever else is replaced.
        access = await _cluster_access(settings)
        # Closed in reverse order: background tasks, runner, authenticator, store, the
        # spare worker processes.
        async with contextlib.AsyncExitStack() as resources:
            await resources.enter_async_context(spares.keeping())
            store = await GatheringStore.open(settings.database_address())
            resources.push_async_callback(store.close)
            auth = authenticator or _default_authenticator(settings, access)
            resources.push_async_callback(auth.close)
            metrics = Metrics()
            core_dumps = _cores(settings, access)
            runner = Runner(
                store=store,
                executor=executor or _default_executor(settings, access),
                layout=layout,
                options=RunnerOptions(
                    concurrency=settings.max_concurrent_gatherings,
                    timeout_margin=settings.gather_timeout_margin,
                    flush_interval=settings.output_flush_interval,
                    archive_filename=settings.archive_filename,
                    max_archive_bytes=settings.max_archive_bytes,
                    max_archive_entries=settings.max_archive_entries or None,
                    redaction=redaction,
                    lease=Lease(
                        holder=replica_identity(settings), duration=settings.lease_duration
                    ),
                    # The caller's token lives only in the replica that received it.
                    shared_queue=settings.gather_credentials is GatherCredentials.SERVICE,
                    poll_interval=settings.queue_poll_interval,
                ),
                on_finished=metrics.finished,
                cores=CoreCollector(
                    core_dumps,
                    max_archive_bytes=settings.max_archive_bytes,
                    copy_time=settings.gather_timeout_margin,
                    archive_filename=settings.archive_filename,
                ),
            )
            await runner.start()
            resources.push_async_callback(runner.stop, grace=settings.shutdown_grace_period)
            cleaner = Cleaner(
                store=store,
                layout=layout,
                max_age=settings.cleanup_max_age,
                max_total_bytes=settings.archive_max_total_bytes,
                is_busy=runner.is_busy,
            )
            tidies = executor is None and isinstance(access, ClusterAccess)

            async def elected() -> None:
                await cleaner.run_logged()
                if tidies and isinstance(access, ClusterAccess):
                    await _tidy_cluster(store, access, settings)

            # Housekeeping on one replica at a time; a lost leader's successor takes over
            # within a third of a lease.
            leadership = Leadership(
                store.engine, interval=settings.lease_duration / 3, on_elected=elected
            )
            background = [
                asyncio.create_task(leadership.run(), name="leadership"),
                asyncio.create_task(
                    cleaner.run_forever(
                        interval=settings.cleanup_interval, leads=lambda: leadership.is_leader
                    ),
                    name="cleanup",
                ),
            ]
            for task in background:
                task.add_done_callback(_log_failure)
            resources.push_async_callback(_cancel, background)
            indexes = ArchiveIndexes(layout)
            app.state.services = Services(
                settings=settings,
                store=store,
                runner=runner,
                layout=layout,
                metrics=metrics,
                authenticator=auth,
                follows=FollowStreams(settings.max_follows_per_user),
                indexes=indexes,
                kube_views=KubeViews(indexes),
                cores=core_dumps,
                tails=ListTails(layout, settings.list_output_tail_bytes),
                access=access if isinstance(access, ClusterAccess) else None,
            )
            log.info("must-gather-api %s ready", __version__)
            yield

    # The documentation pages load Swagger UI and ReDoc from the package, not from a CDN.
    app = FastAPIOffline(
        title="must-gather-api",
        version=__version__,
        summary="Run OpenShift/Kubernetes must-gather over HTTP: trigger, poll, download.",
        lifespan=lifespan,
    )
    problems.install(app)
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.allowed_origins),
            allow_methods=["GET", "HEAD", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Range"],
            expose_headers=["Content-Disposition", "Content-Length", "ETag"],
        )
    app.include_router(health.router)
    app.include_router(gatherings.router)
    app.include_router(files.router)
    app.include_router(summaries.router)
    app.include_router(redaction_report.router)
    app.include_router(kube.router)
    app.include_router(cores.router)
    app.include_router(forklift.router)
    app.include_router(ui.build_router())
    return app
