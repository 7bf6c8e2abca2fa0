"""Fixtures the executor's unit tests share."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio


@pytest_asyncio.fixture
async def silent_server() -> AsyncIterator[tuple[str, list[int]]]:
    """A loopback server that accepts connections and never answers; counts them."""
    accepted: list[int] = []
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", accepted
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
