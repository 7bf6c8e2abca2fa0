"""Fixtures of the official ``kubernetes`` client's contract tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from kubernetes import client, config

from kubesim.auth import ADMIN_TOKEN
from kubesim.cluster import Cluster
from kubesim.pytest_plugin import ClusterFactory


@pytest_asyncio.fixture
async def bare_cluster(kubesim_factory: ClusterFactory) -> Cluster:
    """An API server without a kubelet: pods stay Pending, tests stay quick."""
    return await kubesim_factory(kubelet=False)


@pytest.fixture
def official(bare_cluster: Cluster, tmp_path: Path) -> Iterator[client.ApiClient]:
    """The official client, as cluster-admin, from a kubeconfig kubesim wrote."""
    path = bare_cluster.write_kubeconfig(tmp_path / "official-kubeconfig", token=ADMIN_TOKEN)
    api_client = config.new_client_from_config(config_file=str(path))
    try:
        yield api_client
    finally:
        api_client.close()
