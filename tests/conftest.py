"""Fixtures and hygiene for every test.

Every asyncio test is checked for leaked tasks: a task it started and left running
fails the test, naming the task.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator

import anyio._core._fileio  # noqa: F401  (see below)
import pytest
import pytest_asyncio

# anyio is a pytest plugin, so pytest rewrites its modules; on Python 3.11.7 the lazy import
# of its file module in the middle of a request (FileResponse) can fail with "AST
# constructor recursion depth mismatch". Importing it up front avoids that.

pytest_plugins = ["kubesim.pytest_plugin", "support.postgres"]


@pytest_asyncio.fixture
async def no_leaked_tasks() -> AsyncIterator[None]:
    before = asyncio.all_tasks()
    yield
    for _ in range(5):
        leaked = asyncio.all_tasks() - before - {asyncio.current_task()}
        if not leaked:
            return
        await asyncio.sleep(0)
    names = sorted(task.get_name() for task in leaked)
    for task in leaked:
        task.cancel()
    pytest.fail(f"the test left asyncio tasks running: {names}")


@pytest.fixture(autouse=True)
def collect_garbage(request: pytest.FixtureRequest) -> Iterator[None]:
    """Collect after each test that runs servers or processes, so that a leaked resource
    fails the test that leaked it (its ResourceWarning would otherwise surface in
    whichever test runs next). Unit tests are many and hold no such resources."""
    yield
    if "unit" not in request.node.path.parts:
        gc.collect()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("asyncio") is not None and isinstance(item, pytest.Function):
            item.fixturenames.insert(0, "no_leaked_tasks")
