"""Starting the service in tests: in-process over ASGI, or on a real loopback port."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import uvicorn
from fastapi import FastAPI

from must_gather_api.app import create_app
from must_gather_api.auth.base import Authenticator
from must_gather_api.executors.base import Executor
from must_gather_api.settings import Settings, load_settings


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "db_path": str(tmp_path / "gatherings.db"),
        "data_dir": str(tmp_path / "data"),
        "auth": "none",
        "host": "127.0.0.1",
        "output_flush_interval": "0.05s",
    }
    values.update(overrides)
    return load_settings({}, **values)


@asynccontextmanager
async def running_app(
    settings: Settings,
    *,
    executor: Executor,
    authenticator: Authenticator | None = None,
) -> AsyncIterator[tuple[FastAPI, httpx2.AsyncClient]]:
    """The app with its lifespan running, and a client that calls it in-process."""
    app = create_app(settings, executor=executor, authenticator=authenticator)
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://service") as client:
            yield app, client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def served_app(
    settings: Settings, *, executor: Executor | None, authenticator: Authenticator | None = None
) -> AsyncIterator[str]:
    """The app served by uvicorn on a loopback port; yields its base URL."""
    app = create_app(settings, executor=executor, authenticator=authenticator)
    port = free_port()
    # httpx lets an idle pooled connection expire after 5 s, and uvicorn closes one after 5 s
    # by default: with the same figure, a request sent on a connection the server is just
    # closing gets a reset (httpx2.ReadError), more often the busier the loop. A server
    # keeps idle connections longer than its clients do, as nginx (75 s) does.
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_keep_alive=75,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name="uvicorn-under-test")
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
