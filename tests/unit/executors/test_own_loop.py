"""``run_on_own_loop``: a coroutine on a loop and thread of its own, awaited like any other."""

from __future__ import annotations

import asyncio
import threading

import pytest

from must_gather_api.executors.kubernetes.own_loop import relay_to_running_loop, run_on_own_loop


def threads_named(prefix: str) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith(prefix)]


@pytest.mark.asyncio
async def test_the_result_comes_back_from_another_thread_and_loop_which_then_end() -> None:
    here = (threading.get_ident(), asyncio.get_running_loop())
    seen: list[tuple[int, asyncio.AbstractEventLoop, str]] = []

    async def work() -> int:
        await asyncio.sleep(0)
        seen.append(
            (threading.get_ident(), asyncio.get_running_loop(), threading.current_thread().name)
        )
        return 42

    assert await run_on_own_loop(work, name="own-loop-result") == 42
    [(ident, loop, name)] = seen
    assert (ident, loop) != here and ident != here[0] and loop is not here[1]
    assert name == "own-loop-result"
    assert loop.is_closed()
    assert threads_named("own-loop-") == []


@pytest.mark.asyncio
async def test_an_exception_is_raised_in_the_caller_as_it_was_raised() -> None:
    async def work() -> None:
        raise LookupError("what the coroutine said")

    with pytest.raises(LookupError, match="what the coroutine said"):
        await run_on_own_loop(work, name="own-loop-error")
    assert threads_named("own-loop-") == []


@pytest.mark.asyncio
async def test_a_cancelled_caller_cancels_the_coroutine_and_waits_for_its_cleanup() -> None:
    started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    relay = relay_to_running_loop()
    ends: list[str] = []

    async def work() -> None:
        relay(lambda: started.set_result(None))
        try:
            await asyncio.get_running_loop().create_future()  # until cancelled
        except asyncio.CancelledError:
            # Cleanup that takes several turns of its loop, as closing a websocket does.
            for _ in range(20):
                await asyncio.sleep(0)
            ends.append("cleaned up")
            raise

    caller = asyncio.create_task(run_on_own_loop(work, name="own-loop-cancel"))
    await started
    caller.cancel()
    await asyncio.sleep(0)
    caller.cancel()  # a second cancel while it waits does not cut the wait short
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert ends == ["cleaned up"]
    assert threads_named("own-loop-") == []


@pytest.mark.asyncio
async def test_a_cancel_before_the_coroutine_starts_leaves_nothing_running() -> None:
    before = len(threading.enumerate())
    ran: list[str] = []

    async def work() -> None:
        ran.append("started")
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            ran.append("ended")

    caller = asyncio.create_task(run_on_own_loop(work, name="own-loop-early"))
    await asyncio.sleep(0)  # the thread is started; its coroutine may not have begun
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert ran in ([], ["started", "ended"])
    assert len(threading.enumerate()) == before
    assert threads_named("own-loop-") == []


@pytest.mark.asyncio
async def test_a_coroutine_cancelled_in_its_own_loop_cancels_the_caller() -> None:
    async def work() -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        await asyncio.sleep(0)

    with pytest.raises(asyncio.CancelledError):
        await run_on_own_loop(work, name="own-loop-inner-cancel")
    assert threads_named("own-loop-") == []


@pytest.mark.asyncio
async def test_a_connection_left_open_is_closed_before_the_loop_ends() -> None:
    """As aiohttp leaves a released websocket's connection closing in the background."""
    received: list[bytes] = []
    ended = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.read())  # until the other end closes
        writer.close()
        await writer.wait_closed()
        ended.set()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    left: list[asyncio.StreamWriter] = []  # kept, as the library keeps its connection

    async def work() -> None:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"left open")
        await writer.drain()
        left.append(writer)

    async with server:
        await run_on_own_loop(work, name="own-loop-connection")
        await ended.wait()
    assert received == [b"left open"]
    assert [writer.transport.is_closing() for writer in left] == [True]
    assert threads_named("own-loop-") == []
