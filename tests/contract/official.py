"""Helpers for the contract tests of the official ``kubernetes`` client (synchronous: each
call runs in a thread while kubesim serves on the test's event loop)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes import client, config

from kubesim.auth import ADMIN_TOKEN
from kubesim.cluster import Cluster

APPLY = "application/apply-patch+yaml"


def api_client(cluster: Cluster, home: Path) -> client.ApiClient:
    """The official client, as cluster-admin, from a kubeconfig kubesim wrote."""
    path = cluster.write_kubeconfig(home / "official-kubeconfig", token=ADMIN_TOKEN)
    api: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=str(path)
    )
    return api


async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kwargs)


async def raw(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[int, Any, Any]:
    """Status code, headers and JSON body of a call, as they came over the wire."""
    response = await call(fn, *args, _preload_content=False, **kwargs)
    try:
        return response.status, response.headers, json.loads(response.data)
    finally:
        # Unread responses keep their connection out of the pool, where closing the client
        # would not find it: the socket then leaks to the garbage collector.
        response.release_conn()
        response.close()


def config_map(name: str, namespace: str = "default", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }
