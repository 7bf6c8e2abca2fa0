"""lightkube (its async client) against kubesim: strategic merge is its default patch type,
``chunk_size`` pages lists, ``apply`` is server-side apply."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from lightkube import AsyncClient, KubeConfig
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Namespace

from kubesim.auth import ADMIN_TOKEN
from kubesim.cluster import Cluster

pytestmark = pytest.mark.timeout(60)


@pytest_asyncio.fixture
async def lightkube(bare_cluster: Cluster, tmp_path: Path) -> AsyncIterator[AsyncClient]:
    path = bare_cluster.write_kubeconfig(tmp_path / "lightkube-kubeconfig", token=ADMIN_TOKEN)
    async with AsyncClient(KubeConfig.from_file(path), field_manager="contract") as api:
        yield api


@pytest.mark.asyncio
async def test_default_patch_merges_containers_by_name(lightkube: AsyncClient) -> None:
    deployment = Deployment(
        metadata=ObjectMeta(name="web", namespace="default"),
        spec=DeploymentSpec(
            selector=LabelSelector(matchLabels={"app": "web"}),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels={"app": "web"}),
                spec=PodSpec(
                    containers=[
                        Container(name="main", image="busybox:1.36", command=["sleep", "9"]),
                        Container(name="side", image="busybox:1.36"),
                    ]
                ),
            ),
        ),
    )
    await lightkube.create(deployment)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "x:1"}]}}}}
    patched = await lightkube.patch(Deployment, "web", patch, namespace="default")
    assert patched.spec is not None and patched.spec.template.spec is not None
    containers = patched.spec.template.spec.containers
    assert [(c.name, c.image) for c in containers] == [("main", "x:1"), ("side", "busybox:1.36")]
    assert containers[0].command == ["sleep", "9"]


@pytest.mark.asyncio
async def test_chunked_list_follows_continue(bare_cluster: Cluster, lightkube: AsyncClient) -> None:
    await lightkube.create(Namespace(metadata=ObjectMeta(name="chunks")))
    for i in range(5):
        await lightkube.create(ConfigMap(metadata=ObjectMeta(name=f"cm-{i}", namespace="chunks")))
    names = [
        cm.metadata.name
        async for cm in lightkube.list(ConfigMap, namespace="chunks", chunk_size=2)
        if cm.metadata is not None
    ]
    assert names == [f"cm-{i}" for i in range(5)]
    lists = [r for r in bare_cluster.audit if r.verb == "list" and r.namespace == "chunks"]
    assert len(lists) == 3


@pytest.mark.asyncio
async def test_apply_creates_a_missing_object(lightkube: AsyncClient) -> None:
    applied = ConfigMap(metadata=ObjectMeta(name="applied", namespace="default"), data={"a": "1"})
    created = await lightkube.apply(applied)
    assert created.data == {"a": "1"}
    applied.data = {"a": "2"}
    updated = await lightkube.apply(applied)
    assert updated.data == {"a": "2"}
    assert created.metadata is not None and updated.metadata is not None
    assert updated.metadata.uid == created.metadata.uid
