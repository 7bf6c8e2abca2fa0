"""A caller with a narrower permission than cluster-admin gets no more than it allows.

With GATHER_CREDENTIALS=service every pod runs under the service's cluster-admin account, so
what a non-admin may choose is limited to what cannot run code of theirs in that pod; the
admin permission is cluster-admin unless set (never AUTH_*'s value), so LIST_SCOPE=own
separates users out of the box. Tokens are reviewed by kubesim through the service's own
account, provisioned as deploy/ provisions it (auth-delegator only).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from kubesim import kinds
from kubesim.auth import ADMIN_TOKEN
from kubesim.cluster import Cluster
from must_gather_api.app import warn_of_exposure
from must_gather_api.auth.kubernetes import KubernetesAuthenticator
from must_gather_api.cli.demo import provision_service_account
from support.executors import FakeExecutor
from support.service import make_settings, running_app
from support.users import allow_users, as_user

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(90)]

NARROW = {
    "auth_verb": "get",
    "auth_group": "",
    "auth_resource": "namespaces",
    "auth_namespace": "",
    "gather_credentials": "service",
}
DEFAULT_IMAGE = "quay.io/kubev2v/forklift-must-gather"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def alice_may_create_pods_in(cluster: Cluster, namespace: str) -> None:
    cluster.store.create(kinds.NAMESPACES, {"metadata": {"name": namespace}})
    cluster.store.create(
        kinds.ROLES,
        {
            "metadata": {"name": "pod-maker", "namespace": namespace},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]}],
        },
    )
    cluster.store.create(
        kinds.ROLE_BINDINGS,
        {
            "metadata": {"name": "alice-pod-maker", "namespace": namespace},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "pod-maker",
            },
            "subjects": [
                {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"}
            ],
        },
    )


async def _settings(cluster: Cluster, tmp_path: Path, **overrides: Any) -> Any:
    allow_users(cluster)
    kubeconfig = provision_service_account(cluster, tmp_path)
    return make_settings(
        tmp_path,
        auth="kubernetes",
        use_kubeconfig="true",
        kubeconfig=str(kubeconfig),
        must_gather_image=DEFAULT_IMAGE,
        max_gatherings_per_user=0,  # tests/reliability/test_quotas.py tests it
        **{**NARROW, **overrides},
    )


REFUSED = [
    ({"image": "attacker.example/escalate:latest"}, "image"),
    ({"images": ["attacker.example/escalate:latest"]}, "images"),
    ({"image-stream": "openshift/must-gather"}, "image-stream"),
    (
        {"command": '/bin/sh -c "cat /var/run/secrets/kubernetes.io/serviceaccount/token"'},
        "command",
    ),
    ({"command": "PLAN=p1 /usr/bin/targeted; oc create clusterrolebinding x"}, "command"),
    ({"command": "KUBECONFIG=/tmp/x /usr/bin/targeted"}, "command"),
    ({"command": "PLAN=../x /usr/bin/targeted"}, "command"),
    ({"source-dir": "/var/run/secrets"}, "source-dir"),
    ({"node-name": "master-0"}, "node-name"),
    ({"node-selector": "node-role.kubernetes.io/master="}, "node-selector"),
    ({"host-network": True}, "host-network"),
    ({"all-images": True}, "all-images"),
    ({"keep": True}, "keep"),
    ({"server": "https://elsewhere.example:6443"}, "server"),
    ({"run-namespace": "kube-system"}, "run-namespace"),
]


async def test_a_narrower_caller_cannot_choose_what_runs_where(
    kubesim: Cluster, tmp_path: Path
) -> None:
    alice_may_create_pods_in(kubesim, "alice-work")
    settings = await _settings(kubesim, tmp_path, allowed_images="quay.io/org/approved")
    executor = FakeExecutor()
    authenticator = await KubernetesAuthenticator.create(settings)
    async with running_app(settings, executor=executor, authenticator=authenticator) as (_, client):
        for body, parameter in REFUSED:
            response = await client.post("/must-gather", headers=as_user("alice"), json=body)
            assert response.status_code == 403, (body, response.text)
            assert response.json()["detail"].startswith(f"{parameter}:"), response.text
        listed = await client.get("/must-gather", headers=ADMIN)
        assert listed.json() == []

        allowed = [
            {},
            {"command": "PLAN=plan1 /usr/bin/targeted"},
            {"command": "NS=openshift-mtv VM=vm-3345 /usr/bin/targeted"},
            {"image": DEFAULT_IMAGE},
            {
                "image": "quay.io/org/approved:v2",
                "images": ["quay.io/org/approved@sha256:" + "a" * 64],
            },
            {"run-namespace": "alice-work"},
            {"timeout": "5m", "custom-name": "plan:p1", "since": "1h"},
        ]
        for body in allowed:
            response = await client.post("/must-gather", headers=as_user("alice"), json=body)
            assert response.status_code == 201, (body, response.text)
        # An admin (cluster-admin by default) may still choose anything but `server`.
        admin = await client.post(
            "/must-gather",
            headers=ADMIN,
            json={"image": "quay.io/any/image", "command": "/bin/sh -c true", "host-network": True},
        )
        assert admin.status_code == 201, admin.text
        listed = await client.get("/must-gather", headers=ADMIN)
        assert len(listed.json()) == len(allowed) + 1


async def test_with_caller_credentials_the_cluster_judges_the_parameters(
    kubesim: Cluster, tmp_path: Path
) -> None:
    settings = await _settings(kubesim, tmp_path, gather_credentials="caller")
    authenticator = await KubernetesAuthenticator.create(settings)
    async with running_app(settings, executor=FakeExecutor(), authenticator=authenticator) as (
        _,
        client,
    ):
        response = await client.post(
            "/must-gather", headers=as_user("alice"), json={"image": "quay.io/other/image"}
        )
        assert response.status_code == 201, response.text
        server = await client.post(
            "/must-gather", headers=as_user("alice"), json={"server": "https://x.example:6443"}
        )
        assert server.status_code == 403 and server.json()["detail"].startswith("server:")


async def test_the_admin_permission_is_cluster_admin_unless_set(
    kubesim: Cluster, tmp_path: Path
) -> None:
    settings = await _settings(kubesim, tmp_path, list_scope="own")
    authenticator = await KubernetesAuthenticator.create(settings)
    async with running_app(settings, executor=FakeExecutor(), authenticator=authenticator) as (
        _,
        client,
    ):
        alices = await client.post("/must-gather", headers=as_user("alice"), json={})
        assert alices.status_code == 201
        gathering_id = alices.json()["id"]
        for url in (f"/must-gather/{gathering_id}", f"/must-gather/{gathering_id}/logs"):
            assert (await client.get(url, headers=as_user("bob"))).status_code == 404
        assert (await client.get("/must-gather", headers=as_user("bob"))).json() == []
        assert (
            await client.delete(f"/must-gather/{gathering_id}", headers=as_user("bob"))
        ).status_code == 404
        everyone = (await client.get("/must-gather", headers=ADMIN)).json()
        assert [g["id"] for g in everyone] == [gathering_id]


async def test_risky_combinations_are_logged_once_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base = {"auth": "kubernetes", "use_kubeconfig": "true"}
    with caplog.at_level(logging.WARNING, logger="must_gather_api.app"):
        assert warn_of_exposure(make_settings(tmp_path, **base)) == []
        risky = warn_of_exposure(make_settings(tmp_path, **base, **NARROW))
        assert len(risky) == 2
        assert "GATHER_CREDENTIALS=service" in risky[0] and "LIST_SCOPE=all" in risky[1]
        listed = warn_of_exposure(
            make_settings(
                tmp_path, **base, **NARROW, allowed_images="quay.io/a/b", list_scope="own"
            )
        )
        assert listed == []
    assert [r.getMessage() for r in caplog.records] == risky
