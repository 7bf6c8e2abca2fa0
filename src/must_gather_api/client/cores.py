"""Core dumps through the service's koredump API: listing, rendering, saving.

Cores hold a crashed process's memory: files are written with a private umask (0600), the
metadata beside each core as ``<id without .zst/.lz4/.xz>.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from must_gather_api.client.api import Api
from must_gather_api.client.downloading import Progress
from must_gather_api.client.errors import ClientError, UsageError

COMPRESSIONS = (".zst", ".lz4", ".xz")


@dataclass(frozen=True)
class Listing:
    cores: list[dict[str, Any]]
    unavailable: dict[str, str] = field(default_factory=dict)


async def list_cores(api: Api, *, namespace: str = "", pod: str = "") -> Listing:
    params = {"format": "object"}
    if namespace:
        params["namespace"] = namespace
    if pod:
        params["pod"] = pod
    body = await api.get_json("/apiv1/cores", what="the core dumps", params=params)
    if not isinstance(body, dict) or not isinstance(body.get("cores"), list):
        raise ClientError("the server's answer is not a list of core dumps; is --server right?")
    unavailable = body.get("unavailable_nodes")
    return Listing(
        [c for c in body["cores"] if isinstance(c, dict)],
        {str(k): str(v) for k, v in unavailable.items()} if isinstance(unavailable, dict) else {},
    )


def _timestamp(core: Mapping[str, Any]) -> str:
    stamp = core.get("COREDUMP_TIMESTAMP")
    if not isinstance(stamp, int):
        return "?"
    moment = datetime.fromtimestamp(stamp / 1_000_000, tz=UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def human(core: Mapping[str, Any]) -> str:
    """koredumpctl's block for one core."""

    def text(key: str) -> str:
        return str(core.get(key, "?"))

    signal = f"{text('COREDUMP_SIGNAL_NAME')} ({text('COREDUMP_SIGNAL')})"
    return "\n".join(
        [
            f"- ID: {text('id')}",
            f"  Node: {text('node')}",
            f"  Cmdline: {text('COREDUMP_CMDLINE')}",
            f"  COMM|PID|UID|GID: {text('COREDUMP_COMM')}|{text('COREDUMP_PID')}|"
            f"{text('COREDUMP_UID')}|{text('COREDUMP_GID')}",
            f"  Pod: {text('pod')}",
            f"  Container: {text('container')}",
            f"  Namespace: {text('namespace')}",
            f"  Image: {text('image_name')}",
            f"  Signal: {signal}",
            f"  Timestamp: {_timestamp(core)}",
        ]
    )


def metadata_name(core_id: str) -> str:
    for suffix in COMPRESSIONS:
        if core_id.endswith(suffix):
            return core_id.removesuffix(suffix) + ".json"
    return core_id + ".json"


def _private_file(path: Path) -> Any:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(descriptor, "wb")


Bars = Callable[[str], AbstractContextManager[Progress | None]]
"""A progress bar for each file saved (none where the output is not a terminal)."""


@contextmanager
def _no_bar(_name: str) -> Iterator[Progress | None]:
    yield None


async def _save(
    api: Api, url: str, target: Path, *, what: str, params: dict[str, str], bars: Bars
) -> int:
    written = 0
    with bars(target.name) as bar:
        async with api.stream(url, what=what, params=params) as response:
            sink = await asyncio.to_thread(_private_file, target)
            try:
                if bar is not None:
                    length = response.headers.get("content-length", "")
                    bar.start(total=int(length) if length.isdigit() else None, completed=0)
                async for chunk in response.aiter_bytes():
                    await asyncio.to_thread(sink.write, chunk)
                    written += len(chunk)
                    if bar is not None:
                        bar.advance(len(chunk))
            finally:
                await asyncio.to_thread(sink.close)
    return written


async def save_core(
    api: Api,
    core: Mapping[str, Any],
    directory: Path,
    *,
    decompressed: bool = False,
    bars: Bars = _no_bar,
) -> list[Path]:
    """Saves the core and its metadata (and the decompressed core); returns the paths."""
    node, core_id = str(core.get("node", "")), str(core.get("id", ""))
    if not core_id or "/" in core_id or not node or "/" in node:
        raise UsageError(f"invalid core ID {core_id!r} or node {node!r}")
    url = f"/apiv1/cores/download/{quote(node, safe='')}/{quote(core_id, safe='')}"
    what = f"core {core_id} on node {node}"
    saved = [directory / core_id]
    await _save(api, url, saved[0], what=what, params={}, bars=bars)
    meta = directory / metadata_name(core_id)

    def write_meta() -> None:
        with _private_file(meta) as file:
            file.write(json.dumps(dict(core), indent=2, sort_keys=True).encode() + b"\n")

    await asyncio.to_thread(write_meta)
    saved.append(meta)
    if decompressed and core_id.endswith(COMPRESSIONS):
        plain = directory / metadata_name(core_id).removesuffix(".json")
        await _save(api, url, plain, what=what, params={"decompress": "true"}, bars=bars)
        saved.append(plain)
    return saved
