"""Removing what gatherings left in the cluster, and finding what a restart can resume.

Everything the executor creates carries ``must-gather-api.io/gathering=<id>`` and
``must-gather-api.io/instance=<INSTANCE>``: the temporary namespace (its binding goes with
it), and the pods, also in a run namespace. So a restarted service finds its gatherings'
objects by label, and removes those of gatherings that are finished or unknown. Where its
account may not list namespaces (deploy/'s RBAC with GATHER_CREDENTIALS=caller), it still
has their names, written down before each was created, and says which it cannot remove.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from kubernetes_asyncio import client

from must_gather_api.errors import FailureKind
from must_gather_api.executors.base import INTERRUPTED, Failure, NamespaceLedger, Outcome
from must_gather_api.executors.kubernetes import namespaces
from must_gather_api.executors.kubernetes.calls import ClusterCalls
from must_gather_api.executors.kubernetes.console import Console
from must_gather_api.executors.kubernetes.errors import ClusterCallFailed
from must_gather_api.executors.kubernetes.namespaces import GATHERING_LABEL, selector

log = logging.getLogger(__name__)

_STALE_TIMEOUT = 15.0


async def delete_namespaces(
    calls: ClusterCalls,
    names: list[str],
    console: Console,
    *,
    timeout: float,  # noqa: ASYNC109 - a bound for the whole cleanup, shielded
    instance: str,
    service: ClusterCalls | None = None,
    gathering_id: int | None = None,
    ledger: NamespaceLedger | None = None,
) -> tuple[Failure, ...]:
    """Deletes ``names`` (and any other namespace labelled with ``gathering_id``) within
    ``timeout``; with the service's identity when the gathering's own is refused. Returns
    what could not be deleted, or nothing when all is gone. The clients are the caller's."""
    deadline = time.monotonic() + timeout
    bounded = calls.bounded(deadline)
    left: list[str] = []
    try:
        async with asyncio.timeout(timeout):
            if gathering_id is not None:
                try:
                    extra = await namespaces.ours(bounded, gathering_id, instance)
                    names = list(dict.fromkeys([*names, *(n["metadata"]["name"] for n in extra)]))
                except ClusterCallFailed as e:
                    log.info("cannot list the gathering's namespaces: %s", e.reason)
            for name in names:
                try:
                    await namespaces.delete_namespace(bounded, name, console, deadline=deadline)
                    if ledger is not None:
                        await ledger.removed(name)
                except ClusterCallFailed as e:
                    if service is None or not e.unauthorized:
                        console.out(f"namespace/{name} not deleted: {e.reason}")
                        left.append(_not_deleted(name, e.reason))
                        continue
                    console.out(
                        f"the gathering's credentials cannot delete namespace/{name} any more; "
                        "using the service's account"
                    )
                    try:
                        await namespaces.delete_namespace(
                            service.bounded(deadline), name, console, deadline=deadline
                        )
                        if ledger is not None:
                            await ledger.removed(name)
                    except ClusterCallFailed as again:
                        console.out(f"namespace/{name} not deleted: {again.reason}")
                        left.append(_not_deleted(name, again.reason))
    except TimeoutError:
        left.append(f"deleting namespaces {', '.join(names)} took longer than {timeout:g}s")
    return tuple(Failure(FailureKind.CLEANUP, reason) for reason in left)


def _not_deleted(name: str, reason: str) -> str:
    return (
        f"namespace {name} could not be deleted: {reason} "
        f"(remove it with: kubectl delete namespace {name})"
    )


async def abandon(
    service: ClusterCalls,
    names: list[str],
    console: Console,
    *,
    timeout: float,  # noqa: ASYNC109 - a bound for the whole cleanup
    instance: str,
    ledger: NamespaceLedger | None = None,
    interruption: str = INTERRUPTED,
) -> Outcome:
    """After a restart with GATHER_CREDENTIALS=caller: deletes the namespaces; the outcome.
    ``service`` is the caller's to close."""
    left = await delete_namespaces(
        service, names, console, timeout=timeout, instance=instance, ledger=ledger
    )
    reason = (
        f"{interruption}; with GATHER_CREDENTIALS=caller a gathering cannot be resumed "
        "(the caller's token was held in memory only)"
    )
    if not left:
        reason += ", so its namespace was deleted"
    return Outcome(failures=(Failure(FailureKind.INTERRUPTED, reason),), left=left)


def gathering_of(obj: dict[str, Any]) -> int | None:
    value = ((obj.get("metadata") or {}).get("labels") or {}).get(GATHERING_LABEL, "")
    return int(value) if str(value).isdecimal() else None


def resumable(pod: dict[str, Any]) -> bool:
    """Whether an earlier process's pod can still be followed and copied: it is not being
    deleted, and its ``copy`` container runs (gather may run or have ended) or has yet to
    start (a process killed just after creating the pod; ``attach`` waits for it)."""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    status = pod.get("status") or {}
    if status.get("phase") in ("Succeeded", "Failed"):
        return False
    for container in status.get("containerStatuses") or []:
        if container.get("name") == "copy":
            state = container.get("state") or {}
            return "running" in state or "waiting" in state
    return True  # no status for it yet: scheduled, or still being created


async def labelled(
    calls: ClusterCalls, gathering_id: int | None = None, *, instance: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Our namespaces and pods (all of them, or one gathering's)."""
    query = {"labelSelector": selector(instance, gathering_id)}
    found_namespaces = await calls.get(
        "/api/v1/namespaces", what="list our namespaces", query=query
    )
    found_pods = await calls.get("/api/v1/pods", what="list our pods", query=query)
    return list(found_namespaces.get("items") or []), list(found_pods.get("items") or [])


async def _remove_recorded(calls: ClusterCalls, name: str) -> str | None:
    """None: ``name`` is gone or going; "": deleted now; otherwise why it is still there.
    Reading comes first: a refused delete says nothing of whether the namespace exists."""
    path = f"/api/v1/namespaces/{name}"
    try:
        found = await calls.get(path, what=f"retrieve namespace {name}")
        if (found.get("metadata") or {}).get("deletionTimestamp"):
            return None
    except ClusterCallFailed as e:
        if e.status == 404:
            return None
        if not e.unauthorized:
            return e.reason
    try:
        await calls.delete(path, what=f"delete namespace {name}")
    except ClusterCallFailed as e:
        return None if e.status == 404 else e.reason
    return ""


@dataclass(frozen=True)
class Tidied:
    """What the start's tidying did: objects deleted, recorded namespaces now gone (to be
    crossed out), and those still there that the service could not delete."""

    deleted: int = 0
    gone: tuple[str, ...] = ()
    left: tuple[tuple[int, str, str], ...] = ()  # (gathering, namespace, why)


async def remove_stale_namespaces(
    api: client.ApiClient,
    *,
    active_ids: set[int],
    instance: str,
    recorded: tuple[tuple[int, str], ...] = (),
    sweep: bool = True,
) -> Tidied:
    """At start: deletes the recorded namespaces of gatherings not in ``active_ids``, then,
    with ``sweep``, our labelled namespaces (and pods in run namespaces) of those gatherings
    (with caller credentials the service's account may not list them, and need not: every
    namespace is recorded by name before it is created).

    ``api`` is the caller's to close. Failures are logged, never raised: a service that
    cannot tidy up must still start.
    """
    calls = ClusterCalls(
        api, request_timeout=_STALE_TIMEOUT, deadline=time.monotonic() + 4 * _STALE_TIMEOUT
    )
    deleted = 0
    gone: list[str] = []
    left: list[tuple[int, str, str]] = []
    for gathering_id, name in recorded:
        if gathering_id in active_ids:
            continue
        outcome = await _remove_recorded(calls, name)
        if outcome is None:
            gone.append(name)
            continue
        if outcome:
            left.append((gathering_id, name, outcome))
            continue
        deleted += 1
        gone.append(name)
        log.info("deleted namespace %s left by gathering %d", name, gathering_id)
    tidied = Tidied(deleted, tuple(gone), tuple(left))
    if not sweep:
        return tidied
    try:
        found_namespaces, found_pods = await labelled(calls, instance=instance)
    except ClusterCallFailed as e:
        if e.unauthorized:
            # deploy/'s RBAC with caller credentials: the recorded names are what it has.
            log.info(
                "the service's account may not list namespaces (%s); its own are recorded", e.reason
            )
        else:
            log.warning("cannot look for namespaces left by earlier gatherings: %s", e.reason)
        return tidied
    done = set(gone) | {name for _, name, _ in left}
    stale_namespaces = {
        n["metadata"]["name"]
        for n in found_namespaces
        if gathering_of(n) not in active_ids and n["metadata"]["name"] not in done
    }
    for name in sorted(stale_namespaces):
        try:
            await calls.delete(f"/api/v1/namespaces/{name}", what=f"delete namespace {name}")
            deleted += 1
            log.info("deleted namespace %s left by a finished or unknown gathering", name)
        except ClusterCallFailed as e:
            log.warning("cannot delete the stale namespace %s: %s", name, e.reason)
    for pod in found_pods:
        meta = pod["metadata"]
        if meta.get("namespace") in stale_namespaces | done or gathering_of(pod) in active_ids:
            continue
        path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
        try:
            await calls.delete(path, what=f"delete pod {meta['namespace']}/{meta['name']}")
            deleted += 1
        except ClusterCallFailed as e:
            log.warning("cannot delete the stale pod %s: %s", meta["name"], e.reason)
    return Tidied(deleted, tuple(gone), tuple(left))
