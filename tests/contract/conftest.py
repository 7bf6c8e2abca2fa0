"""Fixtures of the official ``kubernetes`` client's contract tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from kubernetes import client

from contract.official import api_client
from kubesim.cluster import Cluster
from kubesim.pytest_plugin import ClusterFactory


@pytest_asyncio.fixture
async def bare_cluster(kubesim_factory: ClusterFactory) -> Cluster:
    """An API server without a kubelet: pods stay Pending, tests stay quick."""
    return await kubesim_factory(kubelet=False)


@pytest.fixture
def official(bare_cluster: Cluster, tmp_path: Path) -> Iterator[client.ApiClient]:
    """The official client, as cluster-admin, from a kubeconfig kubesim wrote."""
    api = api_client(bare_cluster, tmp_path)
    try:
        yield api
    finally:
        api.close()  # type: ignore[no-untyped-call]
