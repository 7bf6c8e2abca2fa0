"""A real terminal (tmux) running the client, for tests of what a person sees."""

from __future__ import annotations

import asyncio
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

CLI = [sys.executable, "-m", "must_gather_api"]
WIDTH = 100


@dataclass
class Terminal:
    socket: Path
    home: Path
    environment: dict[str, str]

    async def tmux(self, *args: str, check: bool = True) -> str:
        process = await asyncio.create_subprocess_exec(
            "tmux", "-S", str(self.socket), "-f", "/dev/null", *args,
            env=self.environment,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
        assert process.returncode == 0 or not check, err.decode()
        return out.decode()

    async def start(self, *args: str) -> None:
        # The shell must outlive Ctrl-C (a handler, not an ignore: the client inherits neither).
        command = f'trap : INT; {shlex.join([*CLI, *args])}; echo "EXIT=$?"; exec sleep 300'
        await self.tmux(
            "new-session", "-d", "-s", "cli", "-c", str(self.home),
            "-x", str(WIDTH), "-y", "50", "sh", "-c", command,
        )  # fmt: skip

    async def screen(self) -> str:
        # -J joins lines the terminal wrapped; lines the program broke itself stay apart.
        return await self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "cli")

    async def wait_for(self, text: str) -> str:
        async with asyncio.timeout(45):
            while text not in (shown := await self.screen()):
                await asyncio.sleep(0.1)  # polling another process's screen
        return shown
