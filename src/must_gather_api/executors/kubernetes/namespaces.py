"""The namespace the gather pods run in, and its removal.

As oc: a temporary, privileged namespace (``openshift-must-gather-xxxxx``) whose ``default``
service account gets cluster-admin through a ClusterRoleBinding the namespace owns, so the
binding goes with it. Ours also carries the gathering's id and the service's INSTANCE in
labels, which is how a restarted service finds what an earlier process left behind (and
only its own). Unlike oc, the name is chosen here rather than by the API server
(``generateName``), so that it is written down (``NamespaceLedger``) before the namespace
exists: a service whose account may not list namespaces still knows every one it made.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from must_gather_api.executors.base import NamespaceLedger
from must_gather_api.executors.kubernetes.calls import ClusterCalls
from must_gather_api.executors.kubernetes.console import Console
from must_gather_api.executors.kubernetes.errors import ClusterCallFailed

GATHERING_LABEL = "must-gather-api.io/gathering"
INSTANCE_LABEL = "must-gather-api.io/instance"
PREFIX = "openshift-must-gather-"
# What the API server's generateName draws from: no vowels, no look-alike characters.
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_ATTEMPTS = 3
COMMAND_ANNOTATION = "oc.openshift.io/command"
COMMAND = "oc adm must-gather"


@dataclass
class Place:
    """Where the pods run; ``temporary`` namespaces are ours to delete."""

    name: str
    temporary: bool
    binding: str = ""


def labels(gathering_id: int, instance: str) -> dict[str, str]:
    """What marks a cluster object as this gathering's, made by this deployment."""
    return {GATHERING_LABEL: str(gathering_id), INSTANCE_LABEL: instance}


def selector(instance: str, gathering_id: int | None = None) -> str:
    """This deployment's objects: all of them, or one gathering's."""
    ours = GATHERING_LABEL if gathering_id is None else f"{GATHERING_LABEL}={gathering_id}"
    return f"{ours},{INSTANCE_LABEL}={instance}"


def new_name() -> str:
    return PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(5))


def namespace_body(gathering_id: int, *, name: str, instance: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {
                "openshift.io/run-level": "0",
                "pod-security.kubernetes.io/enforce": "privileged",
                "pod-security.kubernetes.io/audit": "privileged",
                "pod-security.kubernetes.io/warn": "privileged",
                "security.openshift.io/scc.podSecurityLabelSync": "false",
                **labels(gathering_id, instance),
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
            "labels": {
                GATHERING_LABEL: meta["labels"][GATHERING_LABEL],
                INSTANCE_LABEL: meta["labels"][INSTANCE_LABEL],
            },
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


async def create_temporary(
    calls: ClusterCalls,
    gathering_id: int,
    console: Console,
    *,
    instance: str,
    ledger: NamespaceLedger | None = None,
) -> Place:
    """The namespace and its binding. If the binding fails, the namespace is still returned
    inside the error's place: the caller deletes it (``ClusterCallFailed.place``). Each name
    is in ``ledger`` before it is asked for."""
    for attempt in range(_ATTEMPTS):
        name = new_name()
        if ledger is not None:
            await ledger.creating(name)
        try:
            namespace = await calls.post(
                "/api/v1/namespaces",
                namespace_body(gathering_id, name=name, instance=instance),
                what="create a temporary namespace",
            )
            break
        except ClusterCallFailed as e:
            mine = await _made_by_a_retry(calls, name, gathering_id, instance, e)
            if mine is not None:
                namespace = mine
                break
            # Refused: it does not exist (or is someone else's), so it is not ours to track.
            if ledger is not None and e.status is not None and 400 <= e.status < 500:
                await ledger.removed(name)
            # Only a name taken by someone else is worth another draw.
            if e.status != 409 or attempt == _ATTEMPTS - 1:
                raise
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


async def _made_by_a_retry(
    calls: ClusterCalls, name: str, gathering_id: int, instance: str, error: ClusterCallFailed
) -> dict[str, Any] | None:
    """A create retried after a lost answer meets its own namespace (409): that one is ours."""
    if error.status != 409:
        return None
    try:
        found = await calls.get(f"/api/v1/namespaces/{name}", what=f"retrieve namespace {name}")
    except ClusterCallFailed:
        return None
    wanted = labels(gathering_id, instance)
    have = (found.get("metadata") or {}).get("labels") or {}
    return found if all(have.get(k) == v for k, v in wanted.items()) else None


class PlaceIncomplete(ClusterCallFailed):
    """The namespace exists but could not be made usable; it must still be deleted."""

    def __init__(self, reason: str, *, place: Place, status: int | None) -> None:
        super().__init__(reason, status=status)
        self.place = place


async def existing(calls: ClusterCalls, name: str) -> Place:
    await calls.get(f"/api/v1/namespaces/{name}", what=f"retrieve the namespace {name!r}")
    return Place(name=name, temporary=False)


async def ours(calls: ClusterCalls, gathering_id: int, instance: str) -> list[dict[str, Any]]:
    """Namespaces labelled with this gathering (a retried create may have made two)."""
    listed = await calls.get(
        "/api/v1/namespaces",
        what="list the gathering's namespaces",
        query={"labelSelector": selector(instance, gathering_id)},
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
