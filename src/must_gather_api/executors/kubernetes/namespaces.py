"""The namespace the gather pods run in, and its removal.

As oc: a temporary, privileged namespace (``openshift-must-gather-xxxxx``) whose ``default``
service account gets cluster-admin through a ClusterRoleBinding the namespace owns, so the
binding goes with it. Ours also carries the gathering's id in a label, which is how a
restarted service finds what an earlier process left behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from must_gather_api.executors.kubernetes.calls import ClusterCalls
from must_gather_api.executors.kubernetes.console import Console
from must_gather_api.executors.kubernetes.errors import ClusterCallFailed

GATHERING_LABEL = "must-gather-api.io/gathering"
COMMAND_ANNOTATION = "oc.openshift.io/command"
COMMAND = "oc adm must-gather"


@dataclass
class Place:
    """Where the pods run; ``temporary`` namespaces are ours to delete."""

    name: str
    temporary: bool
    binding: str = ""


def namespace_body(gathering_id: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "generateName": "openshift-must-gather-",
            "labels": {
                "openshift.io/run-level": "0",
                "pod-security.kubernetes.io/enforce": "privileged",
                "pod-security.kubernetes.io/audit": "privileged",
                "pod-security.kubernetes.io/warn": "privileged",
                "security.openshift.io/scc.podSecurityLabelSync": "false",
                GATHERING_LABEL: str(gathering_id),
            },
            "annotations": {
                COMMAND_ANNOTATION: COMMAND,
                "openshift.io/node-selector": "",
            },
        },
    }


def binding_body(namespace: dict[str, Any]) -> dict[str, Any]:
    meta = namespace["metadata"]
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {
            "generateName": "must-gather-",
            "annotations": {COMMAND_ANNOTATION: COMMAND},
            "labels": {GATHERING_LABEL: meta["labels"][GATHERING_LABEL]},
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Namespace", "name": meta["name"], "uid": meta["uid"]}
            ],
        },
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "cluster-admin",
        },
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": meta["name"]}],
    }


async def create_temporary(calls: ClusterCalls, gathering_id: int, console: Console) -> Place:
    """The namespace and its binding. If the binding fails, the namespace is still returned
    inside the error's place: the caller deletes it (``ClusterCallFailed.place``)."""
    namespace = await calls.post(
        "/api/v1/namespaces", namespace_body(gathering_id), what="create a temporary namespace"
    )
    place = Place(name=namespace["metadata"]["name"], temporary=True)
    console.out(f"namespace/{place.name} created")
    try:
        binding = await calls.post(
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            binding_body(namespace),
            what="bind cluster-admin to the namespace's default service account",
        )
    except ClusterCallFailed as e:
        raise PlaceIncomplete(e.reason, place=place, status=e.status) from e
    place.binding = binding["metadata"]["name"]
    console.out(f"clusterrolebinding.rbac.authorization.k8s.io/{place.binding} created")
    return place


class PlaceIncomplete(ClusterCallFailed):
    """The namespace exists but could not be made usable; it must still be deleted."""

    def __init__(self, reason: str, *, place: Place, status: int | None) -> None:
        super().__init__(reason, status=status)
        self.place = place


async def existing(calls: ClusterCalls, name: str) -> Place:
    await calls.get(f"/api/v1/namespaces/{name}", what=f"retrieve the namespace {name!r}")
    return Place(name=name, temporary=False)


async def ours(calls: ClusterCalls, gathering_id: int) -> list[dict[str, Any]]:
    """Namespaces labelled with this gathering (a retried create may have made two)."""
    listed = await calls.get(
        "/api/v1/namespaces",
        what="list the gathering's namespaces",
        query={"labelSelector": f"{GATHERING_LABEL}={gathering_id}"},
    )
    return list(listed.get("items") or [])


async def delete_namespace(
    calls: ClusterCalls, name: str, console: Console, *, deadline: float | None = None
) -> None:
    try:
        await calls.delete(
            f"/api/v1/namespaces/{name}", what=f"delete namespace {name}", deadline=deadline
        )
    except ClusterCallFailed as e:
        if e.status != 404:
            raise
    console.out(f"namespace/{name} deleted")
