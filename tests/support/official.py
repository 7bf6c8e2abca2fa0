"""Helpers for the contract tests of the official ``kubernetes`` client (synchronous: each
call runs in a thread while kubesim serves on the test's event loop)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

APPLY = "application/apply-patch+yaml"


async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kwargs)


async def raw(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[int, Any, Any]:
    """Status code, headers and JSON body of a call, as they came over the wire."""
    response = await call(fn, *args, _preload_content=False, **kwargs)
    return response.status, response.headers, json.loads(response.data)


def config_map(name: str, namespace: str = "default", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }
