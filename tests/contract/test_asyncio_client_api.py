"""kubernetes-asyncio (the client the service uses) against kubesim's API server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from kubernetes_asyncio import client, config, watch
from kubernetes_asyncio.client.exceptions import ApiException

from kubesim import kinds
from kubesim.auth import ADMIN_TOKEN, USER_TOKEN
from kubesim.cluster import Cluster
from kubesim.pytest_plugin import ClusterFactory

pytestmark = pytest.mark.timeout(60)


@pytest_asyncio.fixture
async def api_cluster(kubesim_factory: ClusterFactory) -> Cluster:
    return await kubesim_factory(kubelet=False)


async def _api_client(cluster: Cluster, home: Path, token: str) -> client.ApiClient:
    path = cluster.write_kubeconfig(home / f"kubeconfig-{token}", token=token)
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(path), client_configuration=configuration)
    return client.ApiClient(configuration)


@pytest_asyncio.fixture
async def admin(api_cluster: Cluster, tmp_path: Path) -> AsyncIterator[client.ApiClient]:
    async with await _api_client(api_cluster, tmp_path, ADMIN_TOKEN) as api:
        yield api


@pytest_asyncio.fixture
async def developer(api_cluster: Cluster, tmp_path: Path) -> AsyncIterator[client.ApiClient]:
    async with await _api_client(api_cluster, tmp_path, USER_TOKEN) as api:
        yield api


def _pod(name: str) -> Any:
    # A plain dict, as many clients send it; the generated signatures say V1Pod.
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "demo"}},
        "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["true"]}]},
    }


@pytest.mark.asyncio
async def test_list_namespaces_pods_nodes(api_cluster: Cluster, admin: client.ApiClient) -> None:
    core = client.CoreV1Api(admin)
    namespaces = await core.list_namespace()
    assert {"default", "kube-system"} <= {n.metadata.name for n in namespaces.items}
    assert all(n.status.phase == "Active" for n in namespaces.items)
    nodes = await core.list_node()
    assert len(nodes.items) == len(api_cluster.store.list(kinds.NODES))
    pods = await core.list_pod_for_all_namespaces()
    assert int(pods.metadata.resource_version) > 0
    code = await client.VersionApi(admin).get_code()
    assert (code.major, code.minor) == ("1", "32")


@pytest.mark.asyncio
async def test_create_pod_and_watch_it(api_cluster: Cluster, admin: client.ApiClient) -> None:
    core = client.CoreV1Api(admin)
    listed = await core.list_namespaced_pod("default")
    w = watch.Watch()
    seen: list[tuple[str, str]] = []

    async def follow() -> None:
        async for event in w.stream(
            core.list_namespaced_pod,
            "default",
            resource_version=listed.metadata.resource_version,
            timeout_seconds=20,
        ):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "DELETED":
                w.stop()

    follower = asyncio.create_task(follow(), name="watch-pods")
    async with asyncio.timeout(10):
        while not any(r.verb == "watch" for r in api_cluster.audit):
            await asyncio.sleep(0.02)
    created = await core.create_namespaced_pod("default", _pod("watched"))
    assert created.metadata.uid
    assert created.status.phase == "Pending"
    await core.delete_namespaced_pod("watched", "default")
    async with asyncio.timeout(10):
        await follower
    await w.close()
    assert seen == [("ADDED", "watched"), ("DELETED", "watched")]


@pytest.mark.asyncio
async def test_errors_come_back_as_status(admin: client.ApiClient) -> None:
    core = client.CoreV1Api(admin)
    with pytest.raises(ApiException) as missing:
        await core.read_namespaced_pod("nope", "default")
    assert missing.value.status == 404
    await core.create_namespaced_pod("default", _pod("twice"))
    with pytest.raises(ApiException) as exists:
        await core.create_namespaced_pod("default", _pod("twice"))
    assert exists.value.status == 409
    assert '"reason":"AlreadyExists"' in str(exists.value.body)
    bad = _pod("bad")
    bad["spec"]["containers"] = []
    with pytest.raises(ApiException) as invalid:
        await core.create_namespaced_pod("default", bad)
    assert invalid.value.status == 422


@pytest.mark.asyncio
async def test_forbidden_for_developer(developer: client.ApiClient) -> None:
    with pytest.raises(ApiException) as forbidden:
        await client.CoreV1Api(developer).list_namespaced_pod("default")
    assert forbidden.value.status == 403
    assert (
        'pods is forbidden: User \\"developer\\" cannot list resource \\"pods\\" in API group '
        '\\"\\" in the namespace \\"default\\"'
    ) in str(forbidden.value.body)


@pytest.mark.asyncio
async def test_token_review_and_access_reviews(
    api_cluster: Cluster, admin: client.ApiClient
) -> None:
    authn = client.AuthenticationV1Api(admin)
    review = await authn.create_token_review(
        client.V1TokenReview(spec=client.V1TokenReviewSpec(token=USER_TOKEN))
    )
    assert review.status.authenticated
    assert review.status.user.username == "developer"
    unknown = await authn.create_token_review(
        client.V1TokenReview(spec=client.V1TokenReviewSpec(token="bogus"))
    )
    assert not unknown.status.authenticated

    authz = client.AuthorizationV1Api(admin)

    async def may(user: str, groups: list[str], verb: str, resource: str) -> bool:
        sar = client.V1SubjectAccessReview(
            spec=client.V1SubjectAccessReviewSpec(
                user=user,
                groups=groups,
                resource_attributes=client.V1ResourceAttributes(
                    verb=verb, resource=resource, namespace="default"
                ),
            )
        )
        return bool((await authz.create_subject_access_review(sar)).status.allowed)

    assert await may("kube:admin", ["system:cluster-admins"], "create", "pods")
    assert not await may("developer", ["system:authenticated"], "list", "pods")
    rbac = client.RbacAuthorizationV1Api(admin)
    await rbac.create_cluster_role_binding(
        client.V1ClusterRoleBinding(
            metadata=client.V1ObjectMeta(name="developer-view"),
            role_ref=client.V1RoleRef(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="view"
            ),
            subjects=[client.RbacV1Subject(kind="User", name="developer")],
        )
    )
    assert await may("developer", ["system:authenticated"], "list", "pods")
    assert not await may("developer", ["system:authenticated"], "*", "pods")

    self_review = await authz.create_self_subject_access_review(
        client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(verb="*", resource="*", group="*")
            )
        )
    )
    assert self_review.status.allowed
    reviews = [r for r in api_cluster.audit if r.resource == "tokenreviews"]
    assert len(reviews) == 2


@pytest.mark.asyncio
async def test_delete_namespace_cascades(api_cluster: Cluster, admin: client.ApiClient) -> None:
    core = client.CoreV1Api(admin)
    ns = await core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="tmp")))
    sa = await core.read_namespaced_service_account("default", "tmp")
    assert sa.metadata.name == "default"
    await core.create_namespaced_pod("tmp", _pod("inside"))
    rbac = client.RbacAuthorizationV1Api(admin)
    await rbac.create_cluster_role_binding(
        client.V1ClusterRoleBinding(
            metadata=client.V1ObjectMeta(
                name="tmp-admin",
                owner_references=[
                    client.V1OwnerReference(
                        api_version="v1", kind="Namespace", name="tmp", uid=ns.metadata.uid
                    )
                ],
            ),
            role_ref=client.V1RoleRef(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="cluster-admin"
            ),
            subjects=[client.RbacV1Subject(kind="ServiceAccount", name="default", namespace="tmp")],
        )
    )
    # The server answers with the Terminating namespace, as kube-apiserver does; the client
    # types that answer as V1Status, so only the effects are checked.
    await core.delete_namespace("tmp", propagation_policy="Foreground")
    with pytest.raises(ApiException) as ns_gone:
        await core.read_namespace("tmp")
    assert ns_gone.value.status == 404
    assert (await core.list_namespaced_pod("tmp")).items == []
    with pytest.raises(ApiException) as gone:
        await rbac.read_cluster_role_binding("tmp-admin")
    assert gone.value.status == 404


@pytest.mark.asyncio
@pytest.mark.parametrize("openshift", [True, False])
async def test_openshift_groups_only_on_openshift(
    kubesim_factory: ClusterFactory, tmp_path: Path, openshift: bool
) -> None:
    cluster = await kubesim_factory(kubelet=False, openshift=openshift)
    async with await _api_client(cluster, tmp_path, ADMIN_TOKEN) as api:
        groups = await client.ApisApi(api).get_api_versions()
        names = {g.name for g in groups.groups}
        assert "rbac.authorization.k8s.io" in names
        assert ("config.openshift.io" in names) is openshift
        custom = client.CustomObjectsApi(api)
        if openshift:
            version = await custom.get_cluster_custom_object(
                "config.openshift.io", "v1", "clusterversions", "version"
            )
            assert version["kind"] == "ClusterVersion"
            plans = await custom.list_cluster_custom_object(
                "forklift.konveyor.io", "v1beta1", "plans"
            )
            assert plans["kind"] == "PlanList"
        else:
            with pytest.raises(ApiException) as missing:
                await custom.list_cluster_custom_object(
                    "config.openshift.io", "v1", "clusteroperators"
                )
            assert missing.value.status == 404
