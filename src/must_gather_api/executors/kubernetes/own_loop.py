"""Running a coroutine on an event loop of its own, in a thread of its own.

A copy's exec stream decodes TLS records and websocket frames for every MiB it receives;
on the loop that answers HTTP requests, four large copies made every request wait behind
them. Here that work runs on a loop no request is queued on. The caller awaits it like
any coroutine: its result or exception comes back, and cancelling the caller cancels the
coroutine in the other loop and waits until that loop has closed everything it opened
(its sockets, its clients) and the thread has ended, so nothing is left behind.

What the coroutine makes (aiohttp sessions and their connections) belongs to its loop:
it must make its own clients and close them before it returns. It must not touch the
caller's objects; ``Relay`` hands a callback back to the caller's loop instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

T = TypeVar("T")

Relay = Callable[[Callable[[], object]], None]
"""Runs a callback on the caller's loop (soon, not before it returns)."""

_CLOSING_GRACE = 2.0  # seconds for a TLS connection's close_notify exchange
_CLOSING_CHECK = 0.01


class _Loop(asyncio.SelectorEventLoop):
    """A loop that remembers the connections made on it.

    A client closes a TLS connection in the background (aiohttp releases a websocket's
    connection without waiting for it): on a loop that then closes, the exchange would stop
    half way, leaving both ends' sockets open. This loop ends them before it closes.
    """

    def __init__(self) -> None:
        super().__init__()
        # Each connection's socket, taken when it opens: a TLS transport closed twice (as
        # aiohttp may) no longer reaches the socket under it.
        self.connections: weakref.WeakKeyDictionary[asyncio.Transport, socket.socket] = (
            weakref.WeakKeyDictionary()
        )

    async def create_connection(self, *args: Any, **kwargs: Any) -> Any:
        transport, protocol = await super().create_connection(*args, **kwargs)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            self.connections[transport] = sock
        return transport, protocol

    async def end_connections(self) -> None:
        """Closes what is still open and waits (a bounded time) until the sockets are
        closed; aborts what is left."""
        left = [(t, sock) for t, sock in list(self.connections.items()) if sock.fileno() != -1]
        try:
            for transport, _sock in left:
                if not transport.is_closing():
                    transport.close()
            until = self.time() + _CLOSING_GRACE
            # The protocols are the client library's: a socket's closing is seen, not told.
            while self.time() < until and any(sock.fileno() != -1 for _t, sock in left):  # noqa: ASYNC110
                await asyncio.sleep(_CLOSING_CHECK)
        finally:
            for transport, sock in left:
                if sock.fileno() != -1:
                    transport.abort()


class _Run(Generic[T]):
    """One coroutine's run: what the two threads share, each field written by one side."""

    def __init__(self, make: Callable[[], Coroutine[Any, Any, T]]) -> None:
        self.make = make
        self.loop = _Loop()
        self.task: asyncio.Task[T] | None = None  # the other loop's own, once started
        self.stop = False  # cancelled (perhaps before the task started)
        self.result: T | None = None
        self.error: BaseException | None = None

    async def main(self) -> T:
        self.task = asyncio.current_task()
        if self.stop:
            raise asyncio.CancelledError
        try:
            return await self.make()
        finally:
            await self.loop.end_connections()

    def cancel(self) -> None:
        """On the other loop: stop the coroutine (or never start it). Once: a second cancel
        would cut its cleanup short."""
        if self.stop:
            return
        self.stop = True
        if self.task is not None:
            self.task.cancel()

    def thread(self, finished: Callable[[], None]) -> None:
        try:
            # The runner closes the loop as asyncio.run does: what is left is cancelled and
            # awaited, async generators and the loop's default executor are shut down.
            with asyncio.Runner(loop_factory=lambda: self.loop) as runner:
                self.result = runner.run(self.main())
        except BaseException as e:  # handed to the caller, which raises it
            self.error = e
        finally:
            with contextlib.suppress(RuntimeError):  # the caller's loop is gone: nobody waits
                finished()


async def run_on_own_loop(make: Callable[[], Coroutine[Any, Any, T]], *, name: str) -> T:
    """``await make()``, run on a new event loop in a new thread named ``name``.

    Returns once that thread has ended. A cancel of the caller cancels the coroutine, waits
    for the other loop to finish closing (however often the caller is cancelled meanwhile)
    and raises CancelledError.
    """
    caller = asyncio.get_running_loop()
    finished: asyncio.Future[None] = caller.create_future()
    run = _Run(make)

    def settle() -> None:
        if not finished.done():
            finished.set_result(None)

    thread = threading.Thread(
        target=run.thread,
        args=(lambda: caller.call_soon_threadsafe(settle),),
        name=name,
        daemon=True,  # a process that exits without cancelling its work is not held up
    )
    try:
        thread.start()
    except BaseException:
        run.loop.close()
        raise
    cancelled = False
    while True:
        try:
            await asyncio.shield(finished)
            break
        except asyncio.CancelledError:
            cancelled = True
            with contextlib.suppress(RuntimeError):  # its loop already closed: it is ending
                run.loop.call_soon_threadsafe(run.cancel)
    # The thread's last act was to settle ``finished``: it ends now, the join does not wait.
    thread.join()
    if cancelled:
        raise asyncio.CancelledError
    if run.error is not None:
        raise run.error
    return run.result  # type: ignore[return-value]


def relay_to_running_loop() -> Relay:
    """A ``Relay`` to the running loop, for a coroutine that ``run_on_own_loop`` runs."""
    caller = asyncio.get_running_loop()

    def relay(callback: Callable[[], object]) -> None:
        caller.call_soon_threadsafe(callback)

    return relay
