"""Waiting for a gather pod: until gather starts, its log followed, until gather ends.

All three phases share the gathering's deadline (oc gives each its own ``--timeout``, and
none to the log stream: its open bug). An image that cannot be pulled fails the pod at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import aiohttp

from must_gather_api.errors import FailureKind
from must_gather_api.executors.kubernetes import log_lines
from must_gather_api.executors.kubernetes.calls import ClusterCalls
from must_gather_api.executors.kubernetes.console import Console
from must_gather_api.executors.kubernetes.errors import (
    ClusterCallFailed,
    GatherFailed,
    GatherTimedOut,
    PodNotStarted,
)
from must_gather_api.executors.kubernetes.pods import GATHER, container_status
from must_gather_api.kube.failures import clipped

PULL_FAILURES = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")
# Breaks of the log stream in a row, none bringing a new line, before following stops.
_BREAKS_IN_A_ROW = 3
FIRST_LOOK = 0.1  # seconds after the first look at a pod that has not started


def looks(interval: float) -> Iterator[float]:
    """The pauses between looks at a pod until gather starts: ``FIRST_LOOK``, doubling up
    to ``interval``. Every ``interval`` from the start, a short gather that started and
    ended between two looks was only seen at the next one: 0.9 of the 1.6 s from gather
    end to archive ready of a 100 MiB gathering (``python -m bench growth``)."""
    pause = min(FIRST_LOOK, interval)
    while True:
        yield pause
        pause = min(pause * 2, interval)


async def _pod(calls: ClusterCalls, namespace: str, name: str) -> dict[str, Any]:
    pod: dict[str, Any] = await calls.get(
        f"/api/v1/namespaces/{namespace}/pods/{name}", what=f"read pod {name}"
    )
    return pod


def _why_pending(pod: dict[str, Any]) -> str:
    status = pod.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") != "True":
            why = condition.get("message") or condition.get("reason")
            return f"it could not be scheduled: {clipped(why)}"
    node = (pod.get("spec") or {}).get("nodeName")
    waiting = (container_status(pod, GATHER).get("state") or {}).get("waiting") or {}
    if waiting.get("reason"):
        why = clipped(f"{waiting['reason']} {waiting.get('message', '')}")
        return f"gather is waiting on node {node}: {why}"
    if node:
        return f"it is bound to node {node}, which did not start it (is the node Ready?)"
    return f"it is {status.get('phase') or 'Pending'}"


async def wait_started(
    calls: ClusterCalls, namespace: str, name: str, image: str, *, interval: float
) -> dict[str, Any]:
    """The pod once gather runs or ended; PodNotStarted when it cannot or time runs out."""
    pod: dict[str, Any] = {}
    pauses = looks(interval)
    while True:
        try:
            pod = await _pod(calls, namespace, name)
        except ClusterCallFailed as e:
            # A read of a pod is consistent: once it was created (or found, on a resume),
            # 404 means it was deleted, and waiting on would only run out the timeout.
            if e.status == 404:
                raise PodNotStarted(f"pod {name} disappeared before gather started") from e
            if e.status is None or e.status >= 500 or e.status in (401, 403):
                raise
            pod = {}
        state = container_status(pod, GATHER).get("state") or {}
        waiting = state.get("waiting") or {}
        if waiting.get("reason") in PULL_FAILURES:
            detail = clipped(
                ": ".join(
                    part
                    for part in (str(waiting["reason"]), str(waiting.get("message") or ""))
                    if part
                )
            )
            raise PodNotStarted(
                f"unable to pull image {image}: {detail}", kind=FailureKind.IMAGE_PULL
            )
        if "running" in state or "terminated" in state:
            return pod
        pause = next(pauses)
        if time.monotonic() + pause >= calls.deadline:
            raise PodNotStarted(
                f"gather did not start for pod {name} before the timeout: {_why_pending(pod)}"
            )
        await asyncio.sleep(pause)


def _terminated(pod: dict[str, Any]) -> dict[str, Any] | None:
    state = container_status(pod, GATHER).get("state") or {}
    terminated = state.get("terminated")
    return dict(terminated) if terminated is not None else None


async def follow_log(calls: ClusterCalls, namespace: str, name: str, console: Console) -> None:
    """Prints gather's log as ``[pod] POD <ts> <line>`` until gather ends or time runs out.

    A stream that ends or breaks off (API servers cut long streams, proxies drop them) is
    reopened from the last timestamp seen, and once gather ended the rest is read without
    following; lines already printed are not printed again, and half a line is printed
    only once no stream will send it whole.
    """
    last_stamp = ""
    printed_at_last: set[str] = set()

    def show(raw: bytes) -> bool:
        nonlocal last_stamp, printed_at_last
        line = raw.decode("utf-8", "replace")
        stamp = line.split(" ", 1)[0]
        if last_stamp and stamp < last_stamp:
            return False
        if stamp == last_stamp and line in printed_at_last:
            return False
        if stamp != last_stamp:
            last_stamp, printed_at_last = stamp, set()
        printed_at_last.add(line)
        console.pod_line(name, line)
        return True

    breaks = 0
    follow = True
    while True:
        query: dict[str, str | int | bool | list[str]] = {
            "container": GATHER,
            "follow": follow,
            "timestamps": True,
        }
        if last_stamp:
            query["sinceTime"] = last_stamp
        remaining = calls.remaining()
        if remaining <= 0:
            raise GatherTimedOut("the timeout passed while gather was still running")
        lines = log_lines.Lines()
        shown = 0
        try:
            async with asyncio.timeout(remaining):
                what = "follow the log" if follow else "read the rest of the log"
                async with calls.log_stream(
                    namespace, name, query=query, what=f"{what} of pod {name}"
                ) as response:
                    async for piece in response.content.iter_any():
                        shown += sum(show(raw) for raw in lines.feed(piece))
        except TimeoutError:
            raise GatherTimedOut("the timeout passed while gather was still running") from None
        except aiohttp.ClientError:  # its text may name the server's address
            breaks = 0 if shown else breaks + 1
            if breaks < _BREAKS_IN_A_ROW:
                continue
            console.out(
                f"gather logs unavailable: the stream broke off {breaks} times in a row",
                source=name,
            )
            return
        except ClusterCallFailed as e:
            # oc goes on waiting when the log cannot be read (refused, or transient errors
            # past their retries): the log is for people, the gathering is what counts
            if e.status != 404:  # the pod is gone: wait_done says so
                console.out(f"gather logs unavailable: {e.reason}", source=name)
            return
        if not follow:
            if last := lines.rest():  # its last line, written without a newline
                show(last)
            return
        breaks = 0
        try:
            ended = _terminated(await _pod(calls, namespace, name)) is not None
        except ClusterCallFailed as e:
            if e.status == 404:
                return
            raise
        # Gather ended, but the stream may have been cut short of the end: what is left is
        # read once more, without following (the lines printed already are skipped).
        follow = not ended


async def wait_done(
    calls: ClusterCalls, namespace: str, name: str, console: Console, *, interval: float
) -> None:
    """Returns once gather exited 0; GatherFailed for another code, GatherTimedOut at the end."""
    console.out("waiting for gather to complete", source=name)
    while True:
        try:
            pod = await _pod(calls, namespace, name)
        except ClusterCallFailed as e:
            if e.status == 404:
                raise GatherFailed(
                    f"pod {name} disappeared before gather ended", exit_code=-1
                ) from e
            raise
        terminated = _terminated(pod)
        if terminated is not None:
            code = int(terminated.get("exitCode") or 0)
            if code != 0:
                detail = f"exit code: {code}, reason: {terminated.get('reason') or 'Error'}"
                if terminated.get("message"):
                    detail += f", message: {str(terminated['message']).strip()[-500:]}"
                if said := console.last_lines.reason(name):
                    detail += f"; {said}"
                raise GatherFailed(
                    f"{namespace}/{name} unexpectedly terminated: {detail}", exit_code=code
                )
            return
        if time.monotonic() + interval >= calls.deadline:
            raise GatherTimedOut("the timeout passed while gather was still running")
        await asyncio.sleep(interval)


async def keep_alive(calls: ClusterCalls, *, interval: float) -> None:
    """``GET /version`` every ``interval`` s (oc PR #2288): a long log stream alone does not
    count as activity for OAuth's inactivity timeout. Returns (with the error) only when the
    credentials were refused: a revoked token ends the gathering even mid-stream."""
    while True:
        await asyncio.sleep(interval)
        try:
            await calls.keep_alive()
        except ClusterCallFailed as e:
            if e.status == 401:
                raise
