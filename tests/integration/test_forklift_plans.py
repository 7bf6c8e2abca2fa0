"""`GET /forklift/plans`: the Plans the caller's own token may list, for the picker."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from kubesim.auth import ADMIN_TOKEN, SA_PREFIX
from kubesim.pytest_plugin import ClusterFactory
from support.browser import served_site
from support.executors import FakeExecutor
from support.service import make_settings, running_app

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(60)]


async def plans(url: str, token: str = ADMIN_TOKEN) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=30) as client:
        return await client.get(
            f"{url}/forklift/plans", headers={"Authorization": f"Bearer {token}"}
        )


async def test_the_plans_and_their_vms_by_namespace_and_name(
    kubesim_factory: ClusterFactory, tmp_path: Path
) -> None:
    cluster = await kubesim_factory(openshift=True)
    async with served_site(cluster, tmp_path) as site:
        response = await plans(site.url)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["note"] == ""
    assert [(p["namespace"], p["name"]) for p in body["items"]] == [
        ("migration-demo", "demo-cold-plan"),
        ("openshift-mtv", "prod-cold-migration"),
        ("openshift-mtv", "prod-warm-migration"),
    ]
    assert body["items"][1]["vms"] == [
        {"name": "database-01", "id": "vm-1001"},
        {"name": "web-01", "id": "vm-1002"},
    ]
    # Listed with the caller's token, not the service's: the cluster's audit says who.
    listed = [r for r in cluster.audit if r.resource == "plans"]
    assert len(listed) == 1, listed
    assert listed[0].verb == "list" and not listed[0].user.startswith(SA_PREFIX), listed


async def test_a_cluster_without_forklift_and_a_token_refused(
    kubesim_factory: ClusterFactory, tmp_path: Path
) -> None:
    cluster = await kubesim_factory(openshift=False)
    async with served_site(cluster, tmp_path) as site:
        response = await plans(site.url)
        refused = await plans(site.url, token="not-a-token")
    assert response.json() == {"items": [], "note": "this cluster serves no Forklift Plans"}
    assert refused.status_code == 401


async def test_without_a_cluster_the_list_is_empty_and_says_why(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path), executor=FakeExecutor()) as (_app, client):
        response = await client.get("/forklift/plans")
    assert response.json() == {"items": [], "note": "the service has no cluster to list Plans in"}
