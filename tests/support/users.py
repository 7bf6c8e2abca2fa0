"""Two ordinary users of kubesim, alice and bob, each allowed a narrow permission."""

from __future__ import annotations

from kubesim import kinds
from kubesim.auth import User
from kubesim.cluster import Cluster

USERS = {"alice": "alice-token", "bob": "bob-token"}


def as_user(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {USERS[name]}"}


def allow_users(cluster: Cluster) -> None:
    cluster.store.create(
        kinds.CLUSTER_ROLES,
        {
            "metadata": {"name": "must-gather-user"},
            "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}],
        },
    )
    for name, token in USERS.items():
        cluster.users.add(token, User(name, ("system:authenticated",), uid=f"{name}-uid"))
        cluster.store.create(
            kinds.CLUSTER_ROLE_BINDINGS,
            {
                "metadata": {"name": f"must-gather-user-{name}"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "must-gather-user",
                },
                "subjects": [
                    {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": name}
                ],
            },
        )
