"""The open routes: banner, liveness, readiness and metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from must_gather_api.api.deps import ServicesDep, authorization_of
from must_gather_api.api.problems import problem
from must_gather_api.errors import StoreUnavailable

router = APIRouter(tags=["service"])

_VOLUME_TIMEOUT_SECONDS = 5.0

BANNER = (
    "must-gather-api - run must-gather over HTTP; web page: /ui/; "
    "API: /docs (OpenAPI at /openapi.json)\n"
)


@router.get("/", response_class=PlainTextResponse, summary="Banner")
async def banner() -> str:
    return BANNER


@router.get("/healthz", response_class=PlainTextResponse, summary="Liveness")
async def healthz() -> str:
    return "ok\n"


@router.get(
    "/readyz",
    response_class=PlainTextResponse,
    summary="Readiness: the store answers and the data directory is there",
)
async def readyz(services: ServicesDep) -> Response:
    try:
        await services.store.ping()
    except StoreUnavailable as e:
        return problem(503, f"not ready: {e.message}")
    # With several replicas the data directory is a shared volume that can go away (an
    # NFS server down): a pod that cannot see it must not take requests. Full is fine.
    try:
        async with asyncio.timeout(_VOLUME_TIMEOUT_SECONDS):
            present = await asyncio.to_thread(services.layout.root.is_dir)
    except (OSError, TimeoutError):
        present = False
    if not present:
        return problem(503, "not ready: the data directory cannot be reached")
    return PlainTextResponse("ok\n")


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
async def metrics(request: Request, services: ServicesDep) -> Response:
    """Open, or behind the API's own check with METRICS_AUTH=true."""
    if services.settings.metrics_auth:
        await services.authenticator.authenticate(authorization_of(request))
    counts = await services.store.count_by_status()
    body = services.metrics.render(
        counts=counts,
        queued=services.runner.queue_depth,
        running=services.runner.running_count,
        leftovers=len(await services.store.leftover_namespaces()),
    )
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
