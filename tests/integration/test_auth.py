"""Authentication and authorization against kubesim: who may call what, and how fast."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
import pytest_asyncio

from kubesim import kinds
from kubesim.auth import ADMIN_TOKEN, USER_TOKEN, User
from kubesim.cluster import Cluster
from kubesim.faults import ApiErrorRule
from must_gather_api.auth.kubernetes import KubernetesAuthenticator
from support.executors import FakeExecutor
from support.service import make_settings, running_app

pytestmark = pytest.mark.asyncio

SERVICE_NS = "must-gather-api"
ROUTES: list[tuple[str, str]] = [
    ("POST", "/must-gather"),
    ("GET", "/must-gather"),
    ("GET", "/must-gather/1"),
    ("GET", "/must-gather/1/data"),
    ("GET", "/must-gather/1/logs"),
    ("GET", "/must-gather/1/files"),
    ("GET", "/must-gather/1/files/must-gather/version"),
    ("GET", "/must-gather/1/summary"),
    ("DELETE", "/must-gather/1"),
]


def grant(cluster: Cluster, *, role: str, user: str = "", service_account: str = "") -> None:
    subject: dict[str, str] = (
        {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": user}
        if user
        else {"kind": "ServiceAccount", "name": service_account, "namespace": SERVICE_NS}
    )
    cluster.store.create(
        kinds.CLUSTER_ROLE_BINDINGS,
        {
            "metadata": {"generateName": f"test-{role.replace(':', '-')}-"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role,
            },
            "subjects": [subject],
        },
    )


def service_kubeconfig(cluster: Cluster, tmp_path: Path) -> Path:
    """The service's own identity: a service account with system:auth-delegator, no more."""
    cluster.store.create(kinds.NAMESPACES, {"metadata": {"name": SERVICE_NS}})
    cluster.store.create(
        kinds.SERVICE_ACCOUNTS, {"metadata": {"name": "must-gather-api", "namespace": SERVICE_NS}}
    )
    grant(cluster, role="system:auth-delegator", service_account="must-gather-api")
    token = cluster.users.token_for_service_account(SERVICE_NS, "must-gather-api")
    return cluster.write_kubeconfig(tmp_path / "service.kubeconfig", token=token)


def reviews(cluster: Cluster, resource: str = "tokenreviews") -> int:
    return sum(1 for record in cluster.audit if record.resource == resource)


ServiceFactory = Callable[..., Any]


@pytest_asyncio.fixture
async def service_for(kubesim: Cluster, tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    kubeconfig = service_kubeconfig(kubesim, tmp_path)
    executor = FakeExecutor()

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[httpx2.AsyncClient]:
        settings = make_settings(
            tmp_path,
            auth="kubernetes",
            use_kubeconfig="true",
            kubeconfig=str(kubeconfig),
            **overrides,
        )
        authenticator = await KubernetesAuthenticator.create(settings)
        async with running_app(settings, executor=executor, authenticator=authenticator) as (
            _app,
            client,
        ):
            yield client

    yield start


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def call(client: httpx2.AsyncClient, method: str, url: str, token: str | None) -> int:
    headers = bearer(token) if token else {}
    json = {"image": "fake/ok"} if method == "POST" else None
    response = await client.request(method, url, headers=headers, json=json)
    return response.status_code


async def wait_finished(client: httpx2.AsyncClient, gathering_id: int) -> None:
    for _ in range(500):
        body = (
            await client.get(f"/must-gather/{gathering_id}", headers=bearer(ADMIN_TOKEN))
        ).json()
        if body["status"] in ("completed", "error"):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the gathering did not finish")


@pytest.mark.parametrize("review_as", ["service", "caller"])
async def test_who_may_call_what(
    kubesim: Cluster, service_for: Callable[..., Any], review_as: str
) -> None:
    unbound = kubesim.users.token_for_service_account("default", "default")
    async with service_for(auth_review_as=review_as) as client:
        assert await call(client, "POST", "/must-gather", ADMIN_TOKEN) == 201
        await wait_finished(client, 1)
        for method, url in ROUTES:
            for token, expected in [
                (None, 401),
                ("not-a-token", 401),
                (USER_TOKEN, 403),
                (unbound, 403),
            ]:
                assert await call(client, method, url, token) == expected, (method, url, token)
        for method, url in ROUTES:
            assert await call(client, method, url, ADMIN_TOKEN) in (200, 201, 204), (method, url)
        for url in ("/", "/healthz", "/readyz", "/metrics"):
            assert (await client.get(url)).status_code == 200, url


async def test_answers_are_problems_that_say_what_was_wrong(
    service_for: Callable[..., Any],
) -> None:
    async with service_for() as client:
        missing = await client.get("/must-gather")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        assert "bearer token" in missing.json()["detail"]
        malformed = await client.get("/must-gather", headers={"authorization": "Token abc"})
        assert "must be 'Bearer <token>'" in malformed.json()["detail"]
        invalid = await client.get("/must-gather", headers=bearer("secret-looking-token"))
        assert "not valid or has expired" in invalid.json()["detail"]
        assert "secret-looking-token" not in invalid.text
        forbidden = await client.get("/must-gather", headers=bearer(USER_TOKEN))
        assert forbidden.status_code == 403
        assert "developer" in forbidden.json()["detail"]
        assert USER_TOKEN not in forbidden.text
        lower = await client.get("/must-gather", headers={"authorization": f"bearer {ADMIN_TOKEN}"})
        assert lower.status_code == 200


async def test_a_binding_made_later_takes_effect_and_the_cache_expires(
    kubesim: Cluster, service_for: Callable[..., Any]
) -> None:
    async with service_for(auth_cache_ttl="0.2s") as client:
        assert await call(client, "GET", "/must-gather", USER_TOKEN) == 403
        grant(kubesim, role="cluster-admin", user="developer")
        assert await call(client, "GET", "/must-gather", USER_TOKEN) == 403  # cached denial
        await asyncio.sleep(0.25)  # the TTL itself is what is under test
        assert await call(client, "GET", "/must-gather", USER_TOKEN) == 200


async def test_a_revoked_token_is_refused_at_most_one_ttl_later(
    kubesim: Cluster, service_for: Callable[..., Any]
) -> None:
    async with service_for(auth_cache_ttl="0.2s") as client:
        assert await call(client, "GET", "/must-gather", ADMIN_TOKEN) == 200
        kubesim.faults.revoke_token(ADMIN_TOKEN)
        await asyncio.sleep(0.25)  # the TTL itself is what is under test
        assert await call(client, "GET", "/must-gather", ADMIN_TOKEN) == 401


async def test_a_cached_decision_costs_no_api_call(
    kubesim: Cluster, service_for: Callable[..., Any]
) -> None:
    async with service_for() as client:
        assert await call(client, "GET", "/must-gather", ADMIN_TOKEN) == 200
        before = (reviews(kubesim), reviews(kubesim, "subjectaccessreviews"))
        for _ in range(20):
            assert await call(client, "GET", "/must-gather", ADMIN_TOKEN) == 200
        assert (reviews(kubesim), reviews(kubesim, "subjectaccessreviews")) == before


async def test_200_concurrent_requests_with_a_new_token_cause_one_review(
    kubesim: Cluster, service_for: Callable[..., Any]
) -> None:
    async with service_for() as client:
        before = reviews(kubesim)
        statuses = await asyncio.gather(
            *(call(client, "GET", "/must-gather", ADMIN_TOKEN) for _ in range(200))
        )
        assert set(statuses) == {200}
        assert reviews(kubesim) - before == 1


async def test_an_api_server_that_cannot_answer_gives_503_then_recovers(
    kubesim: Cluster, service_for: Callable[..., Any]
) -> None:
    async with service_for() as client:
        kubesim.faults.api_errors.append(ApiErrorRule(status=503, path="tokenreviews"))
        response = await client.get("/must-gather", headers=bearer(ADMIN_TOKEN))
        assert response.status_code == 503
        assert "cannot check the caller" in response.json()["detail"]
        kubesim.faults.clear()
        # The failure was not cached: the next request is reviewed again, once.
        before = reviews(kubesim)
        assert await call(client, "GET", "/must-gather", ADMIN_TOKEN) == 200
        assert reviews(kubesim) - before == 1


async def test_metrics_can_be_put_behind_the_check(service_for: Callable[..., Any]) -> None:
    async with service_for(metrics_auth="true") as client:
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers=bearer(ADMIN_TOKEN))).status_code == 200
        assert (await client.get("/healthz")).status_code == 200


async def test_list_scope_own_keeps_users_apart(
    kubesim: Cluster, service_for: Callable[..., Any]
) -> None:
    # Two ordinary users may use the API; cluster-admins see everyone's gatherings.
    kubesim.store.create(
        kinds.CLUSTER_ROLES,
        {
            "metadata": {"name": "must-gather-user"},
            "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}],
        },
    )
    kubesim.users.add("alice-token", User("alice", ("system:authenticated",), uid="alice-uid"))
    grant(kubesim, role="must-gather-user", user="developer")
    grant(kubesim, role="must-gather-user", user="alice")
    settings = {
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
    async with service_for(**settings) as client:
        mine = await client.post(
            "/must-gather", headers=bearer(USER_TOKEN), json={"custom-name": "dev-run"}
        )
        assert mine.status_code == 201 and mine.json()["requested-by"] == "developer"
        await wait_finished(client, 1)
        alice = bearer("alice-token")
        assert (await client.get("/must-gather", headers=alice)).json() == []
        for url in (
            "/must-gather/1",
            "/must-gather/dev-run",
            "/must-gather/1/data",
            "/must-gather/1/logs",
            "/must-gather/1/files",
            "/must-gather/1/files/must-gather/version",
            "/must-gather/1/summary",
        ):
            assert (await client.get(url, headers=alice)).status_code == 404, url
            assert (await client.get(url, headers=bearer(USER_TOKEN))).status_code == 200, url
        assert (await client.delete("/must-gather/1", headers=alice)).status_code == 404
        own = (await client.get("/must-gather", headers=bearer(USER_TOKEN))).json()
        assert [item["id"] for item in own] == [1]
        everyone = (await client.get("/must-gather", headers=bearer(ADMIN_TOKEN))).json()
        assert [item["id"] for item in everyone] == [1]
