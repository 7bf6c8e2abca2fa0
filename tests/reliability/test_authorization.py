"""LIST_SCOPE=own across users: one user cannot read, follow, download or delete another's
gathering by id, by custom-name (even one they use too), by filters, or by guessing ids;
whether it exists is not revealed either (404, as for an id never used).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx2
import pytest

from kubesim.auth import ADMIN_TOKEN
from kubesim.cluster import Cluster
from must_gather_api.auth.kubernetes import KubernetesAuthenticator
from must_gather_api.cli.demo import provision_service_account
from support.executors import FakeExecutor
from support.service import make_settings, running_app
from support.users import allow_users, as_user

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(90)]

SCOPED = {
    "list_scope": "own",
    "auth_verb": "get",
    "auth_group": "",
    "auth_resource": "namespaces",
    "auth_namespace": "",
    "auth_admin_verb": "*",
    "auth_admin_group": "*",
    "auth_admin_resource": "*",
    "auth_admin_namespace": "*",
}


async def finished(client: httpx2.AsyncClient, gathering_id: int, owner: str) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            record: dict[str, Any] = (
                await client.get(f"/must-gather/{gathering_id}", headers=as_user(owner))
            ).json()
            if record["status"] in ("completed", "error"):
                return record
            await asyncio.sleep(0.05)  # polling, as a client does


async def test_one_user_never_reaches_another_users_gathering(
    kubesim: Cluster, tmp_path: Path
) -> None:
    allow_users(kubesim)
    kubeconfig = provision_service_account(kubesim, tmp_path)
    settings = make_settings(
        tmp_path, auth="kubernetes", use_kubeconfig="true", kubeconfig=str(kubeconfig), **SCOPED
    )
    executor = FakeExecutor()
    authenticator = await KubernetesAuthenticator.create(settings)
    async with running_app(settings, executor=executor, authenticator=authenticator) as (
        _app,
        client,
    ):
        # Alice: a finished gathering, and a running one, both named "shared".
        done = await client.post(
            "/must-gather", headers=as_user("alice"), json={"custom-name": "shared"}
        )
        assert done.status_code == 201
        alice_done = await finished(client, done.json()["id"], "alice")
        assert alice_done["status"] == "completed"
        running = await client.post(
            "/must-gather",
            headers=as_user("alice"),
            json={"custom-name": "shared", "image": "fake/block"},
        )
        running_id = running.json()["id"]
        await executor.wait_started(running_id)
        # Bob's own gathering with the same name, made last: "shared" means his, for him.
        bobs = await client.post(
            "/must-gather", headers=as_user("bob"), json={"custom-name": "shared"}
        )
        bob_id = bobs.json()["id"]
        await finished(client, bob_id, "bob")

        bob = as_user("bob")
        never_used = 10_000
        theirs = [alice_done["id"], running_id]
        probes = 0
        for gathering_id in [*theirs, never_used]:
            for url in (
                f"/must-gather/{gathering_id}",
                f"/must-gather/{gathering_id}/data",
                f"/must-gather/{gathering_id}/logs",
                f"/must-gather/{gathering_id}/logs?follow=true",
            ):
                response = await client.get(url, headers=bob)
                probes += 1
                assert response.status_code == 404, (url, response.status_code)
                assert "alice" not in response.text and "shared" not in response.text
            head = await client.head(f"/must-gather/{gathering_id}/data", headers=bob)
            ranged = await client.get(
                f"/must-gather/{gathering_id}/data", headers={**bob, "Range": "bytes=0-10"}
            )
            deleted = await client.delete(f"/must-gather/{gathering_id}", headers=bob)
            probes += 3
            assert (head.status_code, ranged.status_code, deleted.status_code) == (404, 404, 404)
        # Guessing: every id from 0 to 50, in every spelling the API accepts as an id.
        for guess in [*range(51), "01", "%31", " 1", "1.0", "-1", "0x1"]:
            response = await client.get(f"/must-gather/{guess}", headers=bob)
            probes += 1
            if response.status_code == 200:
                assert response.json()["id"] == bob_id, guess
            else:
                assert response.status_code in (400, 404), (guess, response.status_code)
        # By name and by filter, Bob finds only his own.
        assert (await client.get("/must-gather/shared", headers=bob)).json()["id"] == bob_id
        listed = await client.get(
            "/must-gather", headers=bob, params={"custom-name": "shared", "status": "inprogress"}
        )
        assert listed.json() == []
        assert [g["id"] for g in (await client.get("/must-gather", headers=bob)).json()] == [bob_id]
        probes += 3

        # Alice's gatherings are untouched: still running, still downloadable.
        assert (await client.get(f"/must-gather/{running_id}", headers=as_user("alice"))).json()[
            "status"
        ] == "inprogress"
        data = await client.get(f"/must-gather/{alice_done['id']}/data", headers=as_user("alice"))
        assert data.status_code == 200
        # An admin sees all three.
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        assert len((await client.get("/must-gather", headers=admin)).json()) == 3
        executor.release(running_id)
        await finished(client, running_id, "alice")
        print(f"\n{probes} cross-user probes, every one refused")  # noqa: T201 - the figures the report quotes
