"""The peers' programs (nginx, wrk) from Debian, installed where missing and possible."""

from __future__ import annotations

import asyncio
import os
import shutil


async def ensure_debian_tool(binary: str, package: str) -> str | None:
    """None when ``binary`` can be used (installing ``package`` if needed); else why not."""
    if shutil.which(binary):
        return None
    name = os.path.basename(binary)
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return f"{name} is not installed and cannot be (apt-get as root is needed)"
    environ = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for args in (["update", "-q"], ["install", "-y", "-q", package]):
        process = await asyncio.create_subprocess_exec(
            "apt-get", *args, env=environ, stdout=asyncio.subprocess.DEVNULL
        )
        async with asyncio.timeout(600):
            await process.wait()
    return None if shutil.which(binary) else f"apt-get could not install {name}"
