"""The exec websocket's channels as its readers need them: stdout as it comes, and stderr's
tail and the status told apart on the way.

Every frame of the v4 and v5 channel protocols starts with its channel's number; v5 adds a
close frame (channel 255) that a reader of output never receives from the server.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp

STDOUT, STDERR, STATUS = 1, 2, 3


@dataclass
class ExecEnding:
    """What a session said besides its stdout: the last ``stderr_kept`` bytes of stderr and
    its status object (None when the connection ended before one came)."""

    stderr_kept: int
    stderr: bytes = b""
    status: dict[str, Any] | None = None


async def stdout_of(
    socket: aiohttp.ClientWebSocketResponse, ending: ExecEnding
) -> AsyncIterator[bytes]:
    """Each stdout frame's bytes; stderr and the status go to ``ending`` as they come."""
    async for message in socket:
        if message.type != aiohttp.WSMsgType.BINARY or not message.data:
            if message.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                break
            continue
        channel, data = message.data[0], message.data[1:]
        if channel == STDOUT and data:
            yield bytes(data)
        elif channel == STDERR:
            ending.stderr = (ending.stderr + data)[-ending.stderr_kept :]
        elif channel == STATUS:
            ending.status = _status(data)


def _status(data: bytes) -> dict[str, Any]:
    try:
        status = json.loads(data)
    except ValueError:
        status = None
    if isinstance(status, dict):
        return status
    # Not a Status object: a failure, in the words that came.
    return {"status": "Failure", "message": data.decode("utf-8", "replace")}
