"""The application: ``create_app(settings)`` wires the store, runner, cleanup and API.

Everything that holds a resource is opened in the lifespan and closed when it ends,
in reverse order; the runner gets the shutdown grace period to let running
gatherings finish.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from must_gather_api import __version__
from must_gather_api.api import gatherings, health, problems
from must_gather_api.api.deps import Services
from must_gather_api.api.metrics import Metrics
from must_gather_api.auth.base import Authenticator, NoAuthentication
from must_gather_api.auth.kubernetes import KubernetesAuthenticator
from must_gather_api.executors.base import Executor
from must_gather_api.executors.unconfigured import UnconfiguredExecutor
from must_gather_api.gatherings.cleanup import Cleaner
from must_gather_api.gatherings.layout import Layout
from must_gather_api.gatherings.runner import Runner, RunnerOptions
from must_gather_api.gatherings.store import GatheringStore
from must_gather_api.settings import AuthMode, Settings

log = logging.getLogger(__name__)


def _default_executor(settings: Settings) -> Executor:  # noqa: ARG001
    return UnconfiguredExecutor("this service has no cluster executor configured")


async def _default_authenticator(settings: Settings) -> Authenticator:
    if settings.auth is AuthMode.NONE:
        return NoAuthentication()
    return await KubernetesAuthenticator.create(settings)


def create_app(
    settings: Settings,
    *,
    executor: Executor | None = None,
    authenticator: Authenticator | None = None,
) -> FastAPI:
    """The ASGI application. ``executor`` and ``authenticator`` replace the defaults (tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        layout = Layout(settings.data_dir)
        await asyncio.to_thread(layout.root.mkdir, parents=True, exist_ok=True)
        store = await GatheringStore.open(settings.database_address())
        metrics = Metrics()
        runner = Runner(
            store=store,
            executor=executor or _default_executor(settings),
            layout=layout,
            options=RunnerOptions(
                concurrency=settings.max_concurrent_gatherings,
                timeout_margin=settings.gather_timeout_margin,
                flush_interval=settings.output_flush_interval,
                archive_filename=settings.archive_filename,
                max_archive_bytes=settings.max_archive_bytes,
            ),
            on_finished=metrics.finished,
        )
        auth = authenticator or await _default_authenticator(settings)
        cleaner = Cleaner(
            store=store,
            layout=layout,
            max_age=settings.cleanup_max_age,
            max_total_bytes=settings.archive_max_total_bytes,
            is_busy=runner.is_busy,
        )
        try:
            await runner.start()
            cleaning = asyncio.create_task(
                cleaner.run_forever(interval=settings.cleanup_interval), name="cleanup"
            )
            app.state.services = Services(
                settings=settings,
                store=store,
                runner=runner,
                layout=layout,
                metrics=metrics,
                authenticator=auth,
            )
            log.info("must-gather-api %s ready", __version__)
            try:
                yield
            finally:
                cleaning.cancel()
                await asyncio.gather(cleaning, return_exceptions=True)
                await runner.stop(grace=settings.shutdown_grace_period)
        finally:
            await auth.close()
            await store.close()

    app = FastAPI(
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
    return app
