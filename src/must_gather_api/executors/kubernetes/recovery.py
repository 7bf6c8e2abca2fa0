"""Removing what gatherings left in the cluster, and finding what a restart can resume.

Everything the executor creates carries ``must-gather-api.io/gathering=<id>``: the temporary
namespace (its binding goes with it), and the pods, also in a run namespace. So a restarted
service finds its gatherings' objects by label, and removes those of gatherings that are
finished or unknown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from kubernetes_asyncio import client

from must_gather_api.errors import FailureKind
from must_gather_api.executors.base import INTERRUPTED, Failure, Outcome
from must_gather_api.executors.kubernetes import namespaces
from must_gather_api.executors.kubernetes.calls import ClusterCalls
from must_gather_api.executors.kubernetes.console import Console
from must_gather_api.executors.kubernetes.errors import ClusterCallFailed
from must_gather_api.executors.kubernetes.namespaces import GATHERING_LABEL

log = logging.getLogger(__name__)

_STALE_TIMEOUT = 15.0


async def delete_namespaces(
    calls: ClusterCalls,
    names: list[str],
    console: Console,
    *,
    timeout: float,  # noqa: ASYNC109 - a bound for the whole cleanup, shielded
    service: ClusterCalls | None = None,
    gathering_id: int | None = None,
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
                    extra = await namespaces.ours(bounded, gathering_id)
                    names = list(dict.fromkeys([*names, *(n["metadata"]["name"] for n in extra)]))
                except ClusterCallFailed as e:
                    log.info("cannot list the gathering's namespaces: %s", e.reason)
            for name in names:
                try:
                    await namespaces.delete_namespace(bounded, name, console, deadline=deadline)
                except ClusterCallFailed as e:
                    if service is None or not e.unauthorized:
                        console.out(f"namespace/{name} not deleted: {e.reason}")
                        left.append(f"namespace {name} could not be deleted: {e.reason}")
                        continue
                    console.out(
                        f"the gathering's credentials cannot delete namespace/{name} any more; "
                        "using the service's account"
                    )
                    try:
                        await namespaces.delete_namespace(
                            service.bounded(deadline), name, console, deadline=deadline
                        )
                    except ClusterCallFailed as again:
                        console.out(f"namespace/{name} not deleted: {again.reason}")
                        left.append(f"namespace {name} could not be deleted: {again.reason}")
    except TimeoutError:
        left.append(f"deleting namespaces {', '.join(names)} took longer than {timeout:g}s")
    return tuple(Failure(FailureKind.CLEANUP, reason) for reason in left)


async def abandon(
    service: ClusterCalls,
    names: list[str],
    console: Console,
    *,
    timeout: float,  # noqa: ASYNC109 - a bound for the whole cleanup
) -> Outcome:
    """After a restart with GATHER_CREDENTIALS=caller: deletes the namespaces; the outcome.
    ``service`` is the caller's to close."""
    left = await delete_namespaces(service, names, console, timeout=timeout)
    reason = (
        f"{INTERRUPTED}; with GATHER_CREDENTIALS=caller a gathering cannot be resumed "
        "(the caller's token was held in memory only), so its namespace was deleted"
    )
    return Outcome(failures=(Failure(FailureKind.INTERRUPTED, reason),), left=left)


def gathering_of(obj: dict[str, Any]) -> int | None:
    value = ((obj.get("metadata") or {}).get("labels") or {}).get(GATHERING_LABEL, "")
    return int(value) if str(value).isdecimal() else None


def resumable(pod: dict[str, Any]) -> bool:
    """Whether an earlier process's pod can still be followed and copied: its ``copy``
    container runs (gather may run or have ended) and it is not being deleted."""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == "copy":
            return "running" in (status.get("state") or {})
    return False


async def labelled(
    calls: ClusterCalls, gathering_id: int | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Our namespaces and pods (all of them, or one gathering's)."""
    selector = GATHERING_LABEL if gathering_id is None else f"{GATHERING_LABEL}={gathering_id}"
    found_namespaces = await calls.get(
        "/api/v1/namespaces", what="list our namespaces", query={"labelSelector": selector}
    )
    found_pods = await calls.get(
        "/api/v1/pods", what="list our pods", query={"labelSelector": selector}
    )
    return list(found_namespaces.get("items") or []), list(found_pods.get("items") or [])


async def remove_stale_namespaces(api: client.ApiClient, *, active_ids: set[int]) -> int:
    """At start: deletes our namespaces (and pods in run namespaces) whose gathering is not
    in ``active_ids`` (finished or unknown). Returns how many objects it deleted.

    ``api`` is the caller's to close. Failures are logged, never raised: a service that
    cannot tidy up must still start.
    """
    calls = ClusterCalls(
        api, request_timeout=_STALE_TIMEOUT, deadline=time.monotonic() + 4 * _STALE_TIMEOUT
    )
    deleted = 0
    try:
        found_namespaces, found_pods = await labelled(calls)
    except ClusterCallFailed as e:
        log.warning("cannot look for namespaces left by earlier gatherings: %s", e.reason)
        return 0
    stale_namespaces = {
        n["metadata"]["name"] for n in found_namespaces if gathering_of(n) not in active_ids
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
        if meta.get("namespace") in stale_namespaces or gathering_of(pod) in active_ids:
            continue
        path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
        try:
            await calls.delete(path, what=f"delete pod {meta['namespace']}/{meta['name']}")
            deleted += 1
        except ClusterCallFailed as e:
            log.warning("cannot delete the stale pod %s: %s", meta["name"], e.reason)
    return deleted
