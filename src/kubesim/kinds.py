"""The resource kinds kubesim serves, and lookups by group/version/plural.

A ``Kind`` is all the server needs to route, validate and describe a resource: the stored
objects themselves stay plain JSON dicts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# Verbs of an ordinary stored resource, as discovery reports them.
STORED_VERBS: tuple[str, ...] = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)
CREATE_ONLY: tuple[str, ...] = ("create",)


@dataclass(frozen=True)
class Kind:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = field(default=(), compare=False)
    singular: str = field(default="", compare=False)
    verbs: tuple[str, ...] = field(default=STORED_VERBS, compare=False)
    # Subresources served besides the object itself, e.g. ("status",) or ("log", "exec").
    subresources: tuple[str, ...] = field(default=(), compare=False)
    categories: tuple[str, ...] = field(default=(), compare=False)
    # Only served when the cluster runs as OpenShift.
    openshift: bool = field(default=False, compare=False)
    # Not kept in the store (reviews, imagestreamtags): the server answers them itself.
    virtual: bool = field(default=False, compare=False)
    # DELETE answers with the deleted object rather than a Status: the registry's
    # ``ReturnDeletedObject`` (k8s.io/apiserver/pkg/registry/generic/registry/store.go,
    # finalizeDelete), set for pods, services, serviceaccounts and persistentvolumeclaims.
    returns_deleted: bool = field(default=False, compare=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()

    @property
    def group_resource(self) -> str:
        """``pods`` or ``clusterroles.rbac.authorization.k8s.io``, as error messages spell it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


_RBAC = "rbac.authorization.k8s.io"
_ALL = ("all",)

PODS = Kind(
    "",
    "v1",
    "pods",
    "Pod",
    True,
    short_names=("po",),
    subresources=("status", "log", "exec"),
    categories=_ALL,
    returns_deleted=True,
)
NODES = Kind(
    "", "v1", "nodes", "Node", False, short_names=("no",), subresources=("proxy", "status")
)
NAMESPACES = Kind(
    "",
    "v1",
    "namespaces",
    "Namespace",
    False,
    short_names=("ns",),
    verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
    subresources=("status",),
)
EVENTS = Kind("", "v1", "events", "Event", True, short_names=("ev",))
SERVICE_ACCOUNTS = Kind(
    "", "v1", "serviceaccounts", "ServiceAccount", True, short_names=("sa",), returns_deleted=True
)
SECRETS = Kind("", "v1", "secrets", "Secret", True)
CONFIG_MAPS = Kind("", "v1", "configmaps", "ConfigMap", True, short_names=("cm",))
SERVICES = Kind(
    "",
    "v1",
    "services",
    "Service",
    True,
    short_names=("svc",),
    subresources=("status",),
    categories=_ALL,
    returns_deleted=True,
)
PERSISTENT_VOLUME_CLAIMS = Kind(
    "",
    "v1",
    "persistentvolumeclaims",
    "PersistentVolumeClaim",
    True,
    short_names=("pvc",),
    subresources=("status",),
    returns_deleted=True,
)

DEPLOYMENTS = Kind(
    "apps",
    "v1",
    "deployments",
    "Deployment",
    True,
    short_names=("deploy",),
    subresources=("status",),
    categories=_ALL,
)
DAEMON_SETS = Kind(
    "apps",
    "v1",
    "daemonsets",
    "DaemonSet",
    True,
    short_names=("ds",),
    subresources=("status",),
    categories=_ALL,
)
# Served by every real API server; kept empty unless a test or the seed creates some. They
# are what ``oc adm inspect`` lists in a namespace (the ``all`` category and the rest).
ENDPOINTS = Kind("", "v1", "endpoints", "Endpoints", True, short_names=("ep",))
REPLICA_SETS = Kind(
    "apps",
    "v1",
    "replicasets",
    "ReplicaSet",
    True,
    short_names=("rs",),
    subresources=("status",),
    categories=_ALL,
)
STATEFUL_SETS = Kind(
    "apps",
    "v1",
    "statefulsets",
    "StatefulSet",
    True,
    short_names=("sts",),
    subresources=("status",),
    categories=_ALL,
)
JOBS = Kind("batch", "v1", "jobs", "Job", True, subresources=("status",), categories=_ALL)
CRON_JOBS = Kind(
    "batch",
    "v1",
    "cronjobs",
    "CronJob",
    True,
    short_names=("cj",),
    subresources=("status",),
    categories=_ALL,
)
ENDPOINT_SLICES = Kind("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True)
NETWORK_POLICIES = Kind(
    "networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, short_names=("netpol",)
)
INGRESSES = Kind(
    "networking.k8s.io",
    "v1",
    "ingresses",
    "Ingress",
    True,
    short_names=("ing",),
    subresources=("status",),
)
POD_DISRUPTION_BUDGETS = Kind(
    "policy",
    "v1",
    "poddisruptionbudgets",
    "PodDisruptionBudget",
    True,
    short_names=("pdb",),
    subresources=("status",),
)

CLUSTER_ROLES = Kind(_RBAC, "v1", "clusterroles", "ClusterRole", False)
CLUSTER_ROLE_BINDINGS = Kind(_RBAC, "v1", "clusterrolebindings", "ClusterRoleBinding", False)
ROLES = Kind(_RBAC, "v1", "roles", "Role", True)
ROLE_BINDINGS = Kind(_RBAC, "v1", "rolebindings", "RoleBinding", True)

SELF_SUBJECT_REVIEWS = Kind(
    "authentication.k8s.io",
    "v1",
    "selfsubjectreviews",
    "SelfSubjectReview",
    False,
    verbs=CREATE_ONLY,
    virtual=True,
)
SUBJECT_ACCESS_REVIEWS = Kind(
    "authorization.k8s.io",
    "v1",
    "subjectaccessreviews",
    "SubjectAccessReview",
    False,
    verbs=CREATE_ONLY,
    virtual=True,
)
SELF_SUBJECT_ACCESS_REVIEWS = Kind(
    "authorization.k8s.io",
    "v1",
    "selfsubjectaccessreviews",
    "SelfSubjectAccessReview",
    False,
    verbs=CREATE_ONLY,
    virtual=True,
)
SELF_SUBJECT_RULES_REVIEWS = Kind(
    "authorization.k8s.io",
    "v1",
    "selfsubjectrulesreviews",
    "SelfSubjectRulesReview",
    False,
    verbs=CREATE_ONLY,
    virtual=True,
)
TOKEN_REVIEWS = Kind(
    "authentication.k8s.io",
    "v1",
    "tokenreviews",
    "TokenReview",
    False,
    verbs=CREATE_ONLY,
    virtual=True,
)

IMAGE_STREAMS = Kind(
    "image.openshift.io",
    "v1",
    "imagestreams",
    "ImageStream",
    True,
    short_names=("is",),
    subresources=("status",),
    openshift=True,
)
IMAGE_STREAM_TAGS = Kind(
    "image.openshift.io",
    "v1",
    "imagestreamtags",
    "ImageStreamTag",
    True,
    short_names=("istag",),
    verbs=("get", "list"),
    openshift=True,
    virtual=True,
)
CLUSTER_VERSIONS = Kind(
    "config.openshift.io",
    "v1",
    "clusterversions",
    "ClusterVersion",
    False,
    subresources=("status",),
    openshift=True,
)
CLUSTER_OPERATORS = Kind(
    "config.openshift.io",
    "v1",
    "clusteroperators",
    "ClusterOperator",
    False,
    short_names=("co",),
    subresources=("status",),
    openshift=True,
)
CLUSTER_SERVICE_VERSIONS = Kind(
    "operators.coreos.com",
    "v1alpha1",
    "clusterserviceversions",
    "ClusterServiceVersion",
    True,
    short_names=("csv", "csvs"),
    subresources=("status",),
    categories=("olm",),
    openshift=True,
)
_FORKLIFT = "forklift.konveyor.io"
FORKLIFT_CONTROLLERS = Kind(
    _FORKLIFT,
    "v1beta1",
    "forkliftcontrollers",
    "ForkliftController",
    True,
    subresources=("status",),
    openshift=True,
)
PROVIDERS = Kind(
    _FORKLIFT, "v1beta1", "providers", "Provider", True, subresources=("status",), openshift=True
)
PLANS = Kind(_FORKLIFT, "v1beta1", "plans", "Plan", True, subresources=("status",), openshift=True)
MIGRATIONS = Kind(
    _FORKLIFT, "v1beta1", "migrations", "Migration", True, subresources=("status",), openshift=True
)

ALL_KINDS: tuple[Kind, ...] = (
    PODS,
    NODES,
    NAMESPACES,
    EVENTS,
    SERVICE_ACCOUNTS,
    SECRETS,
    CONFIG_MAPS,
    SERVICES,
    PERSISTENT_VOLUME_CLAIMS,
    DEPLOYMENTS,
    DAEMON_SETS,
    ENDPOINTS,
    REPLICA_SETS,
    STATEFUL_SETS,
    JOBS,
    CRON_JOBS,
    ENDPOINT_SLICES,
    NETWORK_POLICIES,
    INGRESSES,
    POD_DISRUPTION_BUDGETS,
    CLUSTER_ROLES,
    CLUSTER_ROLE_BINDINGS,
    ROLES,
    ROLE_BINDINGS,
    TOKEN_REVIEWS,
    SELF_SUBJECT_REVIEWS,
    SUBJECT_ACCESS_REVIEWS,
    SELF_SUBJECT_ACCESS_REVIEWS,
    SELF_SUBJECT_RULES_REVIEWS,
    IMAGE_STREAMS,
    IMAGE_STREAM_TAGS,
    CLUSTER_VERSIONS,
    CLUSTER_OPERATORS,
    CLUSTER_SERVICE_VERSIONS,
    FORKLIFT_CONTROLLERS,
    PROVIDERS,
    PLANS,
    MIGRATIONS,
)

_BY_GVR: dict[tuple[str, str, str], Kind] = {(k.group, k.version, k.plural): k for k in ALL_KINDS}
_BY_GVK: dict[tuple[str, str], Kind] = {(k.api_version, k.kind): k for k in ALL_KINDS}


# Groups whose kinds a real cluster serves through CustomResourceDefinitions: the API server
# refuses strategic merge patches for them (415), having no Go types to read merge keys from.
CUSTOM_RESOURCE_GROUPS = frozenset({_FORKLIFT, "operators.coreos.com", "config.openshift.io"})


def is_custom_resource(kind: Kind) -> bool:
    return kind.group in CUSTOM_RESOURCE_GROUPS


def served_kinds(*, openshift: bool) -> tuple[Kind, ...]:
    """The kinds a cluster serves: everything, or everything but the OpenShift groups."""
    return tuple(k for k in ALL_KINDS if openshift or not k.openshift)


def lookup(group: str, version: str, plural: str) -> Kind | None:
    """The kind served at ``/apis/<group>/<version>/<plural>`` (group "" for core)."""
    return _BY_GVR.get((group, version, plural))


def lookup_kind(api_version: str, kind: str) -> Kind | None:
    """The kind an object's ``apiVersion`` and ``kind`` fields name."""
    return _BY_GVK.get((api_version, kind))


def groups(kinds: Iterable[Kind]) -> dict[str, list[str]]:
    """Named API groups (core excluded) and their versions, in first-seen order."""
    found: dict[str, list[str]] = {}
    for k in kinds:
        if not k.group:
            continue
        versions = found.setdefault(k.group, [])
        if k.version not in versions:
            versions.append(k.version)
    return found
