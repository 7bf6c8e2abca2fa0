"""The client in a real terminal (tmux): the spinner and the progress bar must not break or
repeat lines, and Ctrl-C asks whether to cancel the gathering on the server.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

# See test_cli_download.py: imported early to dodge a CPython 3.11.7 bug under pytest.
import anyio._core._fileio  # noqa: F401
import pytest
import pytest_asyncio

from must_gather_api.executors.base import Job, Outcome, Output
from support.executors import FakeExecutor
from support.service import make_settings, served_app
from support.terminal import WIDTH, Terminal

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.timeout(90),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

LONG = "x" * 250


@dataclass
class ChattyExecutor(FakeExecutor):
    """Prints 40 lines, a few wider than the terminal, while the spinner runs; then 3 MiB."""

    async def _behave(self, job: Job, output: Output) -> Outcome:
        if job.options.image_names[:1] == ("fake/block",):
            return await super()._behave(job, output)
        for number in range(40):
            output.line(f"line {number:02d} {LONG if number % 10 == 5 else 'short'} end")
            await asyncio.sleep(0.03)  # a gathering that takes a moment: the spinner turns
        (job.work_dir / "blob").write_bytes(os.urandom(3 * 1024 * 1024))
        return Outcome()


@pytest_asyncio.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[Terminal, ChattyExecutor]]:
    executor = ChattyExecutor()
    home = tmp_path / "home"
    home.mkdir()
    async with served_app(make_settings(tmp_path), executor=executor) as url:
        terminal = Terminal(
            tmp_path / "tmux.sock",
            home,
            {
                "PATH": os.environ["PATH"],
                "HOME": str(home),
                "TERM": "xterm-256color",
                "MUST_GATHER_API_URL": url,
            },
        )
        try:
            yield terminal, executor
        finally:
            await terminal.tmux("kill-server", check=False)


async def test_the_spinner_and_the_progress_bar_leave_whole_lines(
    setup: tuple[Terminal, ChattyExecutor],
) -> None:
    terminal, _executor = setup
    await terminal.start("run", "--wait", "--download", "--image", "chatty")
    screen = await terminal.wait_for("EXIT=")

    lines = screen.splitlines()
    assert "EXIT=0" in lines, screen
    for number in range(40):
        expected = f"line {number:02d} {LONG if number % 10 == 5 else 'short'} end"
        assert lines.count(expected) == 1, (expected, screen)
    # The spinner is gone once the gathering ended, leaving no copies behind.
    assert not [line for line in lines if "gathering 1 running" in line or "queued" in line]
    bars = [line for line in lines if line.startswith("must-gather") and "MiB" in line]
    assert len(bars) == 1, screen
    assert "3.0/3.0 MiB" in bars[0]
    assert len(bars[0]) <= WIDTH
    assert "gathering 1 completed" in lines
    assert any(line.startswith("saved: ") and line.endswith("checked)") for line in lines)
    assert (terminal.home / "must-gather.tar.gz").stat().st_size > 3 * 1024 * 1024


async def test_ctrl_c_asks_whether_to_cancel_and_cancels(
    setup: tuple[Terminal, ChattyExecutor],
) -> None:
    terminal, executor = setup
    await terminal.start("run", "--wait", "--image", "fake/block")
    await terminal.wait_for("[fake] gathering with fake/block")
    await terminal.tmux("send-keys", "-t", "cli", "C-c")
    await terminal.wait_for("Cancel gathering 1 on the server? [y/N]")
    await terminal.tmux("send-keys", "-t", "cli", "y", "Enter")
    screen = await terminal.wait_for("EXIT=")
    assert "gathering 1 cancelled" in screen
    assert "EXIT=130" in screen
    assert executor.cancelled == [1]


async def test_ctrl_c_then_no_leaves_it_running(setup: tuple[Terminal, ChattyExecutor]) -> None:
    terminal, executor = setup
    await terminal.start("run", "--wait", "--image", "fake/block")
    await terminal.wait_for("[fake] gathering with fake/block")
    await terminal.tmux("send-keys", "-t", "cli", "C-c")
    await terminal.wait_for("Cancel gathering 1 on the server? [y/N]")
    await terminal.tmux("send-keys", "-t", "cli", "Enter")
    screen = await terminal.wait_for("EXIT=")
    assert "gathering 1 goes on running on the server" in screen
    assert "must-gather-api logs -f 1" in screen
    assert executor.cancelled == []
    executor.release(1)
