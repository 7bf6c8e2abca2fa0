"""The app as `serve` builds it (default executor and authenticator) against kubesim."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest

from kubesim import kinds
from kubesim.auth import ADMIN_TOKEN, USER_TOKEN
from kubesim.cluster import Cluster
from must_gather_api.app import create_app
from must_gather_api.cli.demo import provision_service_account
from support.native import leftovers
from support.service import make_settings

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(120)]


@asynccontextmanager
async def service(
    cluster: Cluster, tmp_path: Path, **settings: Any
) -> AsyncIterator[httpx2.AsyncClient]:
    kubeconfig = provision_service_account(cluster, tmp_path)
    app = create_app(
        make_settings(
            tmp_path,
            auth="kubernetes",
            use_kubeconfig="true",
            kubeconfig=str(kubeconfig),
            **settings,
        )
    )
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client


async def ended(client: httpx2.AsyncClient, gathering_id: int) -> dict[str, Any]:
    for _ in range(600):
        body: dict[str, Any] = (
            await client.get(f"/must-gather/{gathering_id}", headers=bearer(ADMIN_TOKEN))
        ).json()
        if body["status"] in ("completed", "error"):
            return body
        await asyncio.sleep(0.05)  # polling the API as its clients do
    raise AssertionError(f"gathering {gathering_id} did not end")


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_a_caller_without_cluster_rights_gets_a_clear_error(
    kubesim: Cluster, tmp_path: Path
) -> None:
    # A narrower permission lets the developer in; the gathering still needs cluster-admin.
    kubesim.store.create(
        kinds.CLUSTER_ROLES,
        {
            "metadata": {"name": "namespace-reader"},
            "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}],
        },
    )
    kubesim.store.create(
        kinds.CLUSTER_ROLE_BINDINGS,
        {
            "metadata": {"name": "developer-reads-namespaces"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "namespace-reader",
            },
            "subjects": [
                {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "developer"}
            ],
        },
    )
    permission = {
        "auth_verb": "get",
        "auth_group": "",
        "auth_resource": "namespaces",
        "auth_namespace": "",
    }
    async with service(kubesim, tmp_path, **permission) as client:
        asked = {"image": "quay.io/openshift/origin-must-gather"}
        mine = await client.post("/must-gather", headers=bearer(USER_TOKEN), json=asked)
        assert mine.status_code == 201, mine.text
        theirs = await client.post("/must-gather", headers=bearer(ADMIN_TOKEN), json=asked)
        refused = await ended(client, mine.json()["id"])
        allowed = await ended(client, theirs.json()["id"])
    assert refused["status"] == "error"
    assert "forbidden" in refused["error-reason"].lower(), refused["error-reason"]
    assert "developer" in refused["error-reason"]
    assert allowed["status"] == "completed", allowed["error-reason"]
    assert leftovers(kubesim) == []
