"""RBAC answers from the roles and bindings in the store, as kube-apiserver gives them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kubesim import kinds
from kubesim.auth import AUTHENTICATED, SA_PREFIX, User
from kubesim.errors import NotFound
from kubesim.store import Store

_RBAC = "rbac.authorization.k8s.io/v1"


@dataclass(frozen=True)
class Attributes:
    """What a request does: a resource request, or a non-resource one when ``path`` is set."""

    verb: str
    group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""

    @property
    def is_resource(self) -> bool:
        return not self.path

    @property
    def full_resource(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource

    def forbidden_message(self, user: str) -> str:
        """The message kubectl prints for a 403, word for word as kube-apiserver builds it."""
        if not self.is_resource:
            return f'forbidden: User "{user}" cannot {self.verb} path "{self.path}"'
        gr = f"{self.resource}.{self.group}" if self.group else self.resource
        subject = f'{gr} "{self.name}"' if self.name else gr
        scope = f'in the namespace "{self.namespace}"' if self.namespace else "at the cluster scope"
        return (
            f'{subject} is forbidden: User "{user}" cannot {self.verb} resource '
            f'"{self.full_resource}" in API group "{self.group}" {scope}'
        )


def _matches(values: list[str] | None, wanted: str) -> bool:
    values = values or []
    return "*" in values or wanted in values


def _resource_matches(resources: list[str] | None, attrs: Attributes) -> bool:
    resources = resources or []
    if "*" in resources or attrs.full_resource in resources:
        return True
    if attrs.subresource:
        return f"{attrs.resource}/*" in resources or f"*/{attrs.subresource}" in resources
    return False


def rule_allows(rule: dict[str, Any], attrs: Attributes) -> bool:
    if not _matches(rule.get("verbs"), attrs.verb):
        return False
    if not attrs.is_resource:
        urls = rule.get("nonResourceURLs") or []
        return any(
            u == "*" or u == attrs.path or (u.endswith("*") and attrs.path.startswith(u[:-1]))
            for u in urls
        )
    if rule.get("nonResourceURLs"):
        return False
    if not _matches(rule.get("apiGroups"), attrs.group):
        return False
    if not _resource_matches(rule.get("resources"), attrs):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


def _subject_matches(subject: dict[str, Any], user: User, binding_namespace: str) -> bool:
    kind = subject.get("kind")
    name = subject.get("name", "")
    if kind == "User":
        return bool(name == user.name)
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return user.name == f"{SA_PREFIX}{namespace}:{name}"
    return False


class Authorizer:
    def __init__(self, store: Store) -> None:
        self._store = store

    def allowed(self, user: User, attrs: Attributes) -> tuple[bool, str]:
        """Whether the user may do it, and the reason a SubjectAccessReview reports."""
        if "system:masters" in user.groups:
            return True, "system:masters"
        for binding, rule in self._rules_for(user, attrs.namespace):
            if rule_allows(rule, attrs):
                kind = binding["kind"]
                name = binding["metadata"]["name"]
                role = binding.get("roleRef", {}).get("name", "")
                return True, f'RBAC: allowed by {kind} "{name}" of {_role_kind(binding)} "{role}"'
        return False, ""

    def _rules_for(
        self, user: User, namespace: str
    ) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        for crb in self._store.list(kinds.CLUSTER_ROLE_BINDINGS):
            if any(_subject_matches(s, user, "") for s in crb.get("subjects") or []):
                for rule in self._role_rules(crb.get("roleRef") or {}, ""):
                    yield crb, rule
        if not namespace:
            return
        for rb in self._store.list(kinds.ROLE_BINDINGS, namespace=namespace):
            if any(_subject_matches(s, user, namespace) for s in rb.get("subjects") or []):
                for rule in self._role_rules(rb.get("roleRef") or {}, namespace):
                    yield rb, rule

    def _role_rules(self, ref: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
        try:
            if ref.get("kind") == "ClusterRole":
                role = self._store.get(kinds.CLUSTER_ROLES, ref.get("name", ""))
            elif ref.get("kind") == "Role" and namespace:
                role = self._store.get(kinds.ROLES, ref.get("name", ""), namespace=namespace)
            else:
                return []
        except NotFound:
            return []
        return list(role.get("rules") or [])


def _role_kind(binding: dict[str, Any]) -> str:
    return str(binding.get("roleRef", {}).get("kind", "ClusterRole"))


def _cluster_role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": _RBAC,
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
        "rules": rules,
    }


def _cluster_role_binding(name: str, role: str, subjects: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "apiVersion": _RBAC,
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": subjects,
    }


def _group(name: str) -> dict[str, str]:
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": name}


_DISCOVERY_URLS = [
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/openapi",
    "/openapi/*",
    "/version",
    "/version/",
    "/healthz",
    "/livez",
    "/readyz",
]


def bootstrap_objects() -> list[tuple[kinds.Kind, dict[str, Any]]]:
    """The default roles and bindings every cluster starts with."""
    roles = [
        _cluster_role(
            "cluster-admin",
            [
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["*"]},
            ],
        ),
        _cluster_role(
            "system:auth-delegator",
            [
                {
                    "apiGroups": ["authentication.k8s.io"],
                    "resources": ["tokenreviews"],
                    "verbs": ["create"],
                },
                {
                    "apiGroups": ["authorization.k8s.io"],
                    "resources": ["subjectaccessreviews"],
                    "verbs": ["create"],
                },
            ],
        ),
        _cluster_role("system:discovery", [{"nonResourceURLs": _DISCOVERY_URLS, "verbs": ["get"]}]),
        _cluster_role(
            "system:basic-user",
            [
                {
                    "apiGroups": ["authorization.k8s.io"],
                    "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                    "verbs": ["create"],
                },
                {
                    "apiGroups": ["authentication.k8s.io"],
                    "resources": ["selfsubjectreviews"],
                    "verbs": ["create"],
                },
            ],
        ),
        _cluster_role(
            "view",
            [
                {
                    "apiGroups": ["", "apps", "image.openshift.io", "config.openshift.io"],
                    "resources": [
                        "pods",
                        "pods/log",
                        "pods/status",
                        "configmaps",
                        "events",
                        "namespaces",
                        "serviceaccounts",
                        "services",
                        "persistentvolumeclaims",
                        "deployments",
                        "daemonsets",
                        "imagestreams",
                        "imagestreamtags",
                    ],
                    "verbs": ["get", "list", "watch"],
                }
            ],
        ),
    ]
    bindings = [
        _cluster_role_binding("cluster-admin", "cluster-admin", [_group("system:masters")]),
        _cluster_role_binding("cluster-admins", "cluster-admin", [_group("system:cluster-admins")]),
        _cluster_role_binding("system:discovery", "system:discovery", [_group(AUTHENTICATED)]),
        _cluster_role_binding("system:basic-user", "system:basic-user", [_group(AUTHENTICATED)]),
    ]
    return [(kinds.CLUSTER_ROLES, r) for r in roles] + [
        (kinds.CLUSTER_ROLE_BINDINGS, b) for b in bindings
    ]
