"""kr8s (its asyncio API) against kubesim: a watch replayed from a resourceVersion, and exec
with stdin, as a reconnecting informer and an interactive caller use them."""

from __future__ import annotations

from pathlib import Path

import kr8s.asyncio
import pytest
from kr8s.asyncio.objects import ConfigMap

from kubesim.auth import ADMIN_TOKEN
from kubesim.cluster import Cluster

pytestmark = pytest.mark.timeout(60)


@pytest.mark.asyncio
async def test_watch_since_a_version_replays_each_state(
    bare_cluster: Cluster, tmp_path: Path
) -> None:
    path = bare_cluster.write_kubeconfig(tmp_path / "kr8s-kubeconfig", token=ADMIN_TOKEN)
    api = await kr8s.asyncio.api(kubeconfig=str(path))
    start = bare_cluster.store.resource_version
    cm = await ConfigMap(
        {"metadata": {"name": "replayed", "namespace": "default"}, "data": {"v": "1"}}, api=api
    )
    await cm.create()
    await cm.patch({"data": {"v": "2"}})
    await cm.delete()
    seen: list[tuple[str, str, bool, int]] = []
    async for event, obj in api.watch("configmaps", namespace="default", since=start):
        meta = obj.metadata
        if meta.name == "replayed":
            seen.append(
                (
                    event,
                    obj.raw["data"]["v"],
                    "deletionTimestamp" in meta,
                    int(meta.resourceVersion),
                )
            )
        if len(seen) == 3:
            break
    assert [s[:3] for s in seen] == [
        ("ADDED", "1", False),
        ("MODIFIED", "2", False),
        ("DELETED", "2", False),
    ]
    versions = [s[3] for s in seen]
    assert versions == sorted(set(versions))
