"""RBAC answers from the bindings in the store."""

from __future__ import annotations

import pytest

from kubesim import kinds, rbac
from kubesim.auth import ADMIN, DEVELOPER, User, service_account_user
from kubesim.rbac import Attributes, Authorizer
from kubesim.store import Store


@pytest.fixture
def store() -> Store:
    s = Store()
    for name in ("default", "team"):
        s.create(kinds.NAMESPACES, {"metadata": {"name": name}})
    for kind, obj in rbac.bootstrap_objects():
        s.create(kind, obj)
    return s


def _allowed(store: Store, user: User, attrs: Attributes) -> bool:
    return Authorizer(store).allowed(user, attrs)[0]


@pytest.mark.parametrize(
    "attrs",
    [
        Attributes("list", resource="pods", namespace="default"),
        Attributes("create", group="rbac.authorization.k8s.io", resource="clusterrolebindings"),
        Attributes("*", group="*", resource="*"),
        Attributes("get", path="/metrics"),
        Attributes("create", resource="pods", subresource="exec", namespace="x", name="p"),
    ],
)
def test_cluster_admin_may_do_everything(store: Store, attrs: Attributes) -> None:
    assert _allowed(store, ADMIN, attrs)


def test_developer_may_only_discover_and_review_itself(store: Store) -> None:
    assert not _allowed(store, DEVELOPER, Attributes("list", resource="pods", namespace="default"))
    assert _allowed(store, DEVELOPER, Attributes("get", path="/apis"))
    assert _allowed(store, DEVELOPER, Attributes("get", path="/api/v1"))
    assert not _allowed(store, DEVELOPER, Attributes("get", path="/metrics"))
    ssar = Attributes("create", group="authorization.k8s.io", resource="selfsubjectaccessreviews")
    assert _allowed(store, DEVELOPER, ssar)


def test_binding_created_later_takes_effect_and_wildcards_need_wildcards(store: Store) -> None:
    attrs = Attributes("list", resource="pods", namespace="default")
    assert not _allowed(store, DEVELOPER, attrs)
    store.create(
        kinds.CLUSTER_ROLE_BINDINGS,
        {
            "metadata": {"name": "dev-view"},
            "roleRef": {"kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "User", "name": "developer"}],
        },
    )
    assert _allowed(store, DEVELOPER, attrs)
    assert _allowed(store, DEVELOPER, Attributes("get", resource="pods", subresource="log"))
    assert not _allowed(store, DEVELOPER, Attributes("*", resource="pods", namespace="default"))
    assert not _allowed(store, DEVELOPER, Attributes("list", resource="*", namespace="default"))
    assert not _allowed(store, DEVELOPER, Attributes("delete", resource="pods", namespace="x"))


def test_role_binding_is_namespaced_and_service_accounts_match(store: Store) -> None:
    store.create(
        kinds.ROLES,
        {
            "metadata": {"name": "pod-reader", "namespace": "team"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
        },
    )
    store.create(
        kinds.ROLE_BINDINGS,
        {
            "metadata": {"name": "read", "namespace": "team"},
            "roleRef": {"kind": "Role", "name": "pod-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "default"}],
        },
    )
    robot = service_account_user("team", "default")
    assert _allowed(store, robot, Attributes("list", resource="pods", namespace="team"))
    assert not _allowed(store, robot, Attributes("list", resource="pods", namespace="default"))
    other = service_account_user("default", "default")
    assert not _allowed(store, other, Attributes("list", resource="pods", namespace="team"))


def test_resource_names_restrict(store: Store) -> None:
    store.create(
        kinds.CLUSTER_ROLES,
        {
            "metadata": {"name": "one-cm"},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["configmaps"],
                    "resourceNames": ["a"],
                    "verbs": ["get"],
                }
            ],
        },
    )
    store.create(
        kinds.CLUSTER_ROLE_BINDINGS,
        {
            "metadata": {"name": "one-cm"},
            "roleRef": {"kind": "ClusterRole", "name": "one-cm"},
            "subjects": [{"kind": "Group", "name": "system:authenticated"}],
        },
    )
    assert _allowed(
        store, DEVELOPER, Attributes("get", resource="configmaps", name="a", namespace="x")
    )
    assert not _allowed(
        store, DEVELOPER, Attributes("get", resource="configmaps", name="b", namespace="x")
    )


def test_forbidden_messages_match_kube_apiserver() -> None:
    assert Attributes("list", resource="pods", namespace="default").forbidden_message(
        "developer"
    ) == (
        'pods is forbidden: User "developer" cannot list resource "pods" in API group "" in the '
        'namespace "default"'
    )
    assert Attributes(
        "get", group="config.openshift.io", resource="clusterversions", name="version"
    ).forbidden_message("developer") == (
        'clusterversions.config.openshift.io "version" is forbidden: User "developer" cannot '
        'get resource "clusterversions" in API group "config.openshift.io" at the cluster scope'
    )
    assert Attributes("get", path="/metrics").forbidden_message("x") == (
        'forbidden: User "x" cannot get path "/metrics"'
    )
