"""A reverse proxy on loopback in front of the service, as an oauth-proxy or the OpenShift
console's plugin proxy puts it: under a path prefix, with the user's token in
X-Forwarded-Access-Token and the proxy's own Basic Authorization."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

_HOP = {"host", "connection", "content-length", "transfer-encoding", "content-encoding"}


@asynccontextmanager
async def prefix_proxy(target: str, *, prefix: str, token: str) -> AsyncIterator[str]:
    """Serves ``target`` under ``prefix`` (which ends with "/"); yields the proxied URL."""
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

    async def forward(request: web.Request) -> web.StreamResponse:
        if not request.path_qs.startswith(prefix):
            return web.Response(status=404, text="outside the proxied prefix")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        headers["Authorization"] = "Basic cHJveHk6"  # the proxy's own, as --pass-basic-auth
        headers["X-Forwarded-Access-Token"] = token
        async with session.request(
            request.method,
            target + "/" + request.path_qs[len(prefix) :],
            headers=headers,
            data=await request.read() or None,
            allow_redirects=False,
        ) as upstream:
            response = web.StreamResponse(
                status=upstream.status,
                headers={k: v for k, v in upstream.headers.items() if k.lower() not in _HOP},
            )
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}{prefix}"
    finally:
        await runner.cleanup()
        await session.close()
