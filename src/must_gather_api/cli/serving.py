"""Running the service: granian in production (pathsend sends archives without
copying), uvicorn where asked (`--server uvicorn`, used by tests and development).

With TLS, the certificate and key are watched; when they change (OpenShift's service
CA rotates them) granian is told to respawn its worker with SIGHUP, which reloads them
after the worker's graceful stop.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI

from must_gather_api.app import create_app
from must_gather_api.lifetimes import die_with_parent
from must_gather_api.settings import Settings, load_settings

log = logging.getLogger(__name__)


def app_from_environment() -> FastAPI:
    """The factory granian's worker calls: settings from the environment, as at start.

    The worker ends with granian's main process: killed alone (SIGKILL), the main process
    would leave its worker running the gatherings that the restarted service resumes.
    """
    die_with_parent()
    settings = load_settings()
    configure_logging(settings)
    return _frozen(create_app(settings))


def _frozen(app: FastAPI) -> FastAPI:
    """The app, with everything made so far (the imported modules, the app itself) moved
    out of the garbage collector's sight: none of it becomes garbage, and a full collection
    walked all of it, holding the interpreter lock while requests waited (about 130 ms on
    this service once it was busy)."""
    gc.collect()
    gc.freeze()
    return app


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=logging.DEBUG if settings.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Client libraries log request headers at DEBUG; tokens must never reach a log.
    for noisy in ("kubernetes_asyncio", "aiohttp.client", "urllib3", "httpx", "httpx2"):
        logging.getLogger(noisy).setLevel(logging.INFO)


def _mtimes(paths: list[Path]) -> tuple[float, ...]:
    stamps = []
    for path in paths:
        try:
            stamps.append(path.stat().st_mtime)
        except OSError:
            stamps.append(0.0)
    return tuple(stamps)


def watch_certificates(
    paths: list[Path],
    *,
    stop: threading.Event,
    on_change: Callable[[], None],
    interval: float,
) -> threading.Thread:
    """Call ``on_change`` (from a thread) each time any of ``paths`` changes."""

    def watch() -> None:
        seen = _mtimes(paths)
        while not stop.wait(interval):
            now = _mtimes(paths)
            # A rotation writes two files: wait until both are there again.
            if now != seen and all(now):
                seen = now
                log.info("TLS certificate changed; reloading")
                on_change()

    thread = threading.Thread(target=watch, name="tls-watch", daemon=True)
    thread.start()
    return thread


def _respawn_workers() -> None:
    os.kill(os.getpid(), signal.SIGHUP)


def serve_with_granian(settings: Settings) -> None:
    from granian import Granian
    from granian.constants import Interfaces, Loops

    host, port = settings.listen_address()
    server = Granian(
        "must_gather_api.cli.serving:app_from_environment",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        # uvloop (a dependency) where it is installed, asyncio's own loop elsewhere
        loop=Loops.auto,
        workers=1,
        ssl_cert=settings.api_tls_certificate,
        ssl_key=settings.api_tls_key,
        log_access=settings.debug,
        workers_kill_timeout=int(settings.shutdown_grace_period.total_seconds()) + 10,
    )
    stop = threading.Event()
    if settings.api_tls_certificate and settings.api_tls_key:
        watch_certificates(
            [settings.api_tls_certificate, settings.api_tls_key],
            stop=stop,
            on_change=_respawn_workers,
            interval=settings.tls_reload_interval.total_seconds(),
        )
    try:
        server.serve()
    finally:
        stop.set()


def serve_with_uvicorn(settings: Settings) -> None:
    import uvicorn

    host, port = settings.listen_address()
    uvicorn.run(
        _frozen(create_app(settings)),
        host=host,
        port=port,
        ssl_certfile=settings.api_tls_certificate,
        ssl_keyfile=settings.api_tls_key,
        log_level="debug" if settings.debug else "info",
        access_log=settings.debug,
        timeout_graceful_shutdown=int(settings.shutdown_grace_period.total_seconds()) + 10,
    )
