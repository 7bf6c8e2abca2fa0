"""Quotas: gatherings per user, the queue, followed log streams; and with LIST_SCOPE=own a
custom-name is looked up among the caller's own, with one answer for "not yours" and
"does not exist"."""

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
from support.service import make_settings, running_app, served_app
from support.users import allow_users, as_user

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(90)]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NARROW = {"auth_verb": "get", "auth_group": "", "auth_resource": "namespaces", "auth_namespace": ""}


async def started(
    client: httpx2.AsyncClient, executor: FakeExecutor, headers: dict[str, str], **body: Any
) -> int:
    response = await client.post(
        "/must-gather", headers=headers, json={"image": "fake/block", **body}
    )
    assert response.status_code == 201, response.text
    gathering_id: int = response.json()["id"]
    await executor.wait_started(gathering_id)
    return gathering_id


async def test_per_user_and_queue_quotas(kubesim: Cluster, tmp_path: Path) -> None:
    allow_users(kubesim)
    settings = make_settings(
        tmp_path,
        auth="kubernetes",
        use_kubeconfig="true",
        kubeconfig=str(provision_service_account(kubesim, tmp_path)),
        max_concurrent_gatherings=2,
        max_gatherings_per_user=2,
        max_queued_gatherings=1,
        **NARROW,
    )
    executor = FakeExecutor()
    authenticator = await KubernetesAuthenticator.create(settings)
    async with running_app(settings, executor=executor, authenticator=authenticator) as (_, c):
        first = await started(c, executor, as_user("alice"))
        await started(c, executor, as_user("alice"))
        third = await c.post("/must-gather", headers=as_user("alice"), json={})
        assert third.status_code == 429, third.text
        assert third.headers["retry-after"] == "30"
        assert "MAX_GATHERINGS_PER_USER=2" in third.json()["detail"]
        # Bob is not held back by Alice; his waits in the queue (both runner slots are taken).
        queued = await c.post("/must-gather", headers=as_user("bob"), json={"image": "fake/block"})
        assert queued.status_code == 201
        # The queue holds one: the next is refused, an admin's too.
        full = await c.post("/must-gather", headers=ADMIN, json={})
        assert full.status_code == 429 and "MAX_QUEUED_GATHERINGS" in full.json()["detail"]
        # Ending one of Alice's frees her quota (and a runner slot, which takes Bob's).
        executor.release(first)
        await executor.wait_started(queued.json()["id"])
        again = await c.post("/must-gather", headers=as_user("alice"), json={"image": "fake/ok"})
        assert again.status_code == 201, again.text
        listed = await c.get("/must-gather", headers=ADMIN)
        assert len(listed.json()) == 4
        for gathering in listed.json():
            executor.release(gathering["id"])


async def test_followed_streams_per_user(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_follows_per_user=2)
    executor = FakeExecutor()
    # Served for real: the in-process transport would wait for a followed stream to end.
    async with (
        served_app(settings, executor=executor) as url,
        httpx2.AsyncClient(base_url=url, timeout=30) as client,
    ):
        gathering_id = await started(client, executor, {})
        follow = f"/must-gather/{gathering_id}/logs?follow=true"
        async with client.stream("GET", follow) as one, client.stream("GET", follow) as two:
            assert (one.status_code, two.status_code) == (200, 200)
            third = await client.get(follow)
            assert third.status_code == 429 and third.headers["retry-after"] == "10"
            assert "MAX_FOLLOWS_PER_USER=2" in third.json()["detail"]
            # Without follow, reading is never limited.
            assert (await client.get(f"/must-gather/{gathering_id}/logs")).status_code == 200
        executor.release(gathering_id)
        # Both streams closed: following works again, and ends with the gathering.
        async with asyncio.timeout(30):
            while (again := await client.get(follow)).status_code == 429:
                await asyncio.sleep(0.05)  # the server notices closed streams shortly after
        assert again.status_code == 200


async def test_own_scope_finds_the_callers_newest_and_hides_the_rest_alike(
    kubesim: Cluster, tmp_path: Path
) -> None:
    allow_users(kubesim)
    settings = make_settings(
        tmp_path,
        auth="kubernetes",
        use_kubeconfig="true",
        kubeconfig=str(provision_service_account(kubesim, tmp_path)),
        list_scope="own",
        **NARROW,
    )
    executor = FakeExecutor()
    authenticator = await KubernetesAuthenticator.create(settings)
    async with running_app(settings, executor=executor, authenticator=authenticator) as (_, c):
        bobs = await c.post("/must-gather", headers=as_user("bob"), json={"custom-name": "plan:x"})
        alices = await c.post(
            "/must-gather", headers=as_user("alice"), json={"custom-name": "plan:x"}
        )
        assert bobs.json()["id"] < alices.json()["id"]
        # Alice's is newer, yet Bob's "plan:x" is his own; Alice's is hers.
        for user, expected in (("bob", bobs), ("alice", alices)):
            found = await c.get("/must-gather/plan:x", headers=as_user(user))
            assert found.status_code == 200
            assert found.json()["id"] == expected.json()["id"]
        # "Not yours" and "does not exist" answer the same bytes, for an id and a name.
        not_yours = await c.get(f"/must-gather/{alices.json()['id']}", headers=as_user("bob"))
        missing = await c.get("/must-gather/9999", headers=as_user("bob"))
        assert not_yours.status_code == missing.status_code == 404
        assert (
            not_yours.json()["detail"].replace(str(alices.json()["id"]), "9999")
            == (missing.json()["detail"])
        )
