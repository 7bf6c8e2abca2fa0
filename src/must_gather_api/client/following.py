"""Following a gathering: its output as it comes (``logs -f``, ``run --wait``), then its end.

``GET /must-gather/{id}/logs?follow=true`` streams the whole output and ends when the
gathering does. It has no offset parameter, so after a broken connection the stream is
opened again and the bytes already shown are skipped.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
from collections.abc import Callable

import httpx2

from must_gather_api.client.api import Api, Gathering, describe_transport_error, path_of
from must_gather_api.client.errors import Unreachable

# A gathering may print nothing for minutes; a read timeout then only means "open it again".
FOLLOW_TIMEOUT = httpx2.Timeout(60.0, connect=10.0)
RECONNECTS = 5
RECONNECT_DELAY = 1.0
STATUS_INTERVAL = 2.0
SETTLE_DEADLINE = 30.0


class LineSplitter:
    """Bytes in, whole decoded lines out; a line cut between chunks is held back."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""

    def feed(self, chunk: bytes) -> list[str]:
        text = self._pending + self._decoder.decode(chunk)
        *lines, self._pending = text.split("\n")
        return [line.rstrip("\r") for line in lines]

    def flush(self) -> list[str]:
        rest = self._pending + self._decoder.decode(b"", final=True)
        self._pending = ""
        return [rest] if rest else []


async def follow_output(
    api: Api,
    reference: str,
    on_line: Callable[[str], None],
    *,
    follow: bool = True,
    timeouts: httpx2.Timeout = FOLLOW_TIMEOUT,
) -> None:
    """Calls ``on_line`` for each line of the output; with ``follow``, until the gathering
    has ended."""
    url = path_of(reference) + "/logs"
    what = f"gathering {reference!r}"
    splitter = LineSplitter()
    received = 0
    failures = 0
    while True:
        try:
            async with api.stream(
                url, what=what, params={"follow": "true"} if follow else None, timeouts=timeouts
            ) as response:
                skip = received
                async for chunk in response.aiter_bytes():
                    if skip:
                        dropped = min(skip, len(chunk))
                        skip -= dropped
                        chunk = chunk[dropped:]
                        if not chunk:
                            continue
                    received += len(chunk)
                    failures = 0
                    for line in splitter.feed(chunk):
                        on_line(line)
            for line in splitter.flush():
                on_line(line)
            return
        except httpx2.ReadTimeout:
            continue
        except (httpx2.TransportError, Unreachable) as e:
            failures += 1
            if failures > RECONNECTS:
                if isinstance(e, Unreachable):
                    raise
                message = describe_transport_error(api.connection.server, e)
                raise Unreachable(f"lost the output of {what}: {message}") from e
        await asyncio.sleep(RECONNECT_DELAY * failures)


async def poll_status(
    api: Api,
    reference: str,
    on_status: Callable[[Gathering], None],
    *,
    interval: float = STATUS_INTERVAL,
) -> None:
    """Calls ``on_status`` with the gathering every ``interval`` seconds, until cancelled."""
    while True:
        # The output stream is what reports a server that stays away.
        with contextlib.suppress(Unreachable):
            on_status(await api.get(reference))
        await asyncio.sleep(interval)


async def settled(api: Api, reference: str, *, deadline: float = SETTLE_DEADLINE) -> Gathering:
    """The gathering once the server records it as ended (right after its output ended)."""
    try:
        async with asyncio.timeout(deadline):
            while True:
                gathering = await api.get(reference)
                if gathering.finished:
                    return gathering
                await asyncio.sleep(0.2)
    except TimeoutError as e:
        raise Unreachable(
            f"gathering {reference} has not ended {deadline:g} s after its output did"
        ) from e


async def wait_for_end(
    api: Api,
    gathering: Gathering,
    *,
    on_line: Callable[[str], None],
    on_status: Callable[[Gathering], None],
) -> Gathering:
    """Follows the output until the gathering ends; returns it as it ended."""
    reference = str(gathering.id)
    watcher = asyncio.create_task(
        poll_status(api, reference, on_status), name=f"status-of-gathering-{reference}"
    )
    try:
        await follow_output(api, reference, on_line)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    return await settled(api, reference)
