"""One gather pod from creation to its data in the work directory (oc's
``processNextWorkItem``): create, wait for gather to start, follow its log, wait for it
to end, then write ``gather.logs`` and copy the data out.

When gather failed or time ran out, whatever the pod wrote is still copied (a failing
cluster is when the data matters most), and the error is raised afterwards.

The copy is the pod's raw tar stream in a file beside the work directory. With
``CopyPlan.keep_raw`` (the service) it is recorded there for the archive to be built from
in one pass (``archive.raw_copies``); otherwise it is unpacked into the work directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from must_gather_api.archive import isolated, raw_copies
from must_gather_api.executors.base import HandOver
from must_gather_api.executors.kubernetes import copying, extracting, local_layout, waiting
from must_gather_api.executors.kubernetes.calls import ClusterCalls
from must_gather_api.executors.kubernetes.console import Console
from must_gather_api.executors.kubernetes.errors import (
    ClusterCallFailed,
    CopyFailed,
    GatherError,
    GatherFailed,
    GatherTimedOut,
    TooLarge,
)
from must_gather_api.executors.kubernetes.pods import GATHER, PodOptions, image_folder, pod_body

log = logging.getLogger(__name__)

CONCURRENT_PODS = 4


@dataclass(frozen=True)
class PodPlan:
    image: str
    node: str = ""
    per_node: bool = False


@dataclass
class CopyPlan:
    """How copies are made: where the data goes, how long they may take, how large."""

    work_dir: Path
    scratch_dir: Path
    source_dir: str
    deadline: float
    limit: int | None
    max_entries: int | None = None
    claimed: set[Path] = field(default_factory=set)  # destinations taken by this gathering's pods
    # Keep each pod's raw copy for the one-pass packer (``archive.raw_copies``) rather than
    # unpack it into the work directory.
    keep_raw: bool = False


class PodProcessor:
    def __init__(
        self,
        calls: ClusterCalls,
        *,
        namespace: str,
        options: PodOptions,
        console: Console,
        copying: CopyPlan,
        poll_interval: float,
        delete_pods: bool,
        handover: HandOver | None = None,
    ) -> None:
        self.calls = calls
        self.namespace = namespace
        self.options = options
        self.console = console
        self.copying = copying
        self.poll_interval = poll_interval
        self.delete_pods = delete_pods
        self.handover = handover or HandOver()

    async def process(self, plan: PodPlan) -> None:
        """Raises GatherError when the pod did not gather and copy everything."""
        created = await self.calls.post(
            f"/api/v1/namespaces/{self.namespace}/pods",
            pod_body(plan.image, plan.node, self.options),
            what=f"create the gather pod for {plan.image}",
        )
        name = str(created["metadata"]["name"])
        if plan.per_node:
            self.console.out(
                f"pod: {name} on node: {plan.node} for plug-in image {plan.image} created"
            )
        else:
            self.console.out(f"pod for plug-in image {plan.image} created")
        try:
            await self.attach(name, plan)
        finally:
            if self.delete_pods and not self.handover.is_set():
                await self._delete_pod(name)

    async def resume(self, name: str, plan: PodPlan) -> None:
        """``attach`` to a pod an earlier process created, deleting it after when asked."""
        try:
            await self.attach(name, plan)
        finally:
            if self.delete_pods and not self.handover.is_set():
                await self._delete_pod(name)

    async def attach(self, name: str, plan: PodPlan) -> None:
        """Everything after the pod exists: also how a restarted service resumes one."""
        await waiting.wait_started(
            self.calls, self.namespace, name, plan.image, interval=self.poll_interval
        )
        # The workers of its copy and its archive start while it gathers: their imports
        # are then not part of the time from its end to the archive.
        copying.prepare()
        if self.copying.keep_raw:
            isolated.prepare()
        failure: GatherError | None = None
        try:
            await waiting.follow_log(self.calls, self.namespace, name, self.console)
            await waiting.wait_done(
                self.calls, self.namespace, name, self.console, interval=self.poll_interval
            )
        except GatherFailed as e:
            self.console.out(f"gather failed: {e.reason}", source=name)
            failure = e
        except GatherTimedOut as e:
            self.console.out("gather never finished: timed out; copying what it wrote", source=name)
            failure = GatherTimedOut(f"gather in pod {name} did not finish before the timeout")
            del e
        try:
            await self.download(name, plan)
        except GatherError as e:
            if failure is None:
                raise
            self.console.out(f"gather output not downloaded: {e.reason}", source=name)
        if failure is not None:
            raise failure

    def _claim(self, destination: Path) -> Path:
        """A directory no other pod of this gathering copies into.

        Two image references can name one digest (a tag and an annotation, say); their
        pods run at once, and two extractions into one tree would race.
        """
        candidate, number = destination, 1
        while candidate in self.copying.claimed:
            number += 1
            candidate = destination.with_name(f"{destination.name}-{number}")
        self.copying.claimed.add(candidate)
        return candidate

    async def download(self, name: str, plan: PodPlan) -> None:
        calls = self.calls.bounded(self.copying.deadline)
        self.console.out("downloading gather output", source=name)
        pod = await calls.get(
            f"/api/v1/namespaces/{self.namespace}/pods/{name}", what=f"read pod {name}"
        )
        folder = image_folder(pod, plan.image)
        destination = self.copying.work_dir
        if plan.per_node:
            node = str((pod.get("spec") or {}).get("nodeName") or plan.node)
            destination = destination / local_layout.folder_name(node, "node")
        destination = self._claim(destination / folder)
        await asyncio.to_thread(destination.mkdir, parents=True, exist_ok=True)
        await self._gather_logs(calls, name, destination / "gather.logs")
        # A name of its own: whatever else copies this pod (an earlier process that has not
        # ended yet) never writes into or removes this copy.
        scratch = self.copying.scratch_dir / f"copy-{name}-{secrets.token_hex(4)}.tar"
        kept = False
        try:
            try:
                attempts = await copying.copy_tree(
                    calls,
                    self.namespace,
                    name,
                    source_dir=self.copying.source_dir.rstrip("/") + "/",
                    destination=scratch,
                    limit=self.copying.limit,
                    max_entries=self.copying.max_entries,
                )
            except CopyFailed as e:
                raise CopyFailed(f"unable to download output from pod {name}: {e.reason}") from e
            if attempts > 1:
                self.console.out(
                    f"the copy stream was cut; completed in {attempts} attempts", source=name
                )
            if self.copying.keep_raw:
                folder = destination.relative_to(self.copying.work_dir).as_posix()
                await self._keep(scratch, name, folder)
                kept = True
                return
            used = await asyncio.to_thread(extracting.data_size, self.copying.work_dir)
            extracted = await extracting.extract(
                scratch,
                destination,
                limit=self.copying.limit,
                used=used,
                max_entries=self.copying.max_entries,
                deadline=self.copying.deadline,
            )
        finally:
            if not kept:
                await asyncio.to_thread(scratch.unlink, missing_ok=True)
        self.console.out(f"downloaded {extracted.summary()}", source=name)

    async def _keep(self, scratch: Path, name: str, folder: str) -> None:
        """Records ``scratch`` for the one pass, when it fits the budget: the tree's bytes
        and every raw copy kept so far (TooLarge, and the copy dropped, when it does not).
        Its counts are printed when the archive is built from it."""
        limit = self.copying.limit
        if limit is not None:
            used = await asyncio.to_thread(
                _raw_used, self.copying.work_dir, self.copying.scratch_dir, name
            )
            size = (await asyncio.to_thread(scratch.stat)).st_size
            if used + size > limit:
                raise TooLarge(
                    f"the gathered data is larger than MAX_ARCHIVE_BYTES ({limit} bytes)"
                )
        await asyncio.to_thread(raw_copies.record, scratch, folder=folder, pod=name)

    async def _gather_logs(self, calls: ClusterCalls, name: str, target: Path) -> None:
        """The whole gather log with timestamps, streamed to ``target``; no file when the
        log cannot be read at all, what came when the stream broke off."""
        started = False
        try:
            async with asyncio.timeout(max(calls.remaining(), 1.0)):
                async with calls.log_stream(
                    self.namespace,
                    name,
                    query={"container": GATHER, "timestamps": True},
                    what=f"read the log of pod {name}",
                ) as response:
                    file = await asyncio.to_thread(target.open, "wb")
                    started = True
                    try:
                        async for chunk in response.content.iter_chunked(1024 * 1024):
                            await asyncio.to_thread(file.write, chunk)
                    finally:
                        await asyncio.to_thread(file.close)
        except (GatherError, TimeoutError, OSError, aiohttp.ClientError) as e:
            if isinstance(e, GatherError):
                reason = e.reason
            elif isinstance(e, TimeoutError):
                reason = "the timeout passed"
            elif isinstance(e, OSError):
                reason = e.strerror or "it could not be written"  # never the file's path
            else:
                reason = "the stream broke off"
            what = "gather.logs incomplete" if started else "gather.logs not written"
            self.console.out(f"{what}: {reason}", source=name)

    async def _delete_pod(self, name: str) -> None:
        deadline = time.monotonic() + self.calls.request_timeout * 2
        with contextlib.suppress(ClusterCallFailed):
            await asyncio.shield(
                self.calls.delete(
                    f"/api/v1/namespaces/{self.namespace}/pods/{name}",
                    what=f"delete pod {name}",
                    deadline=deadline,
                )
            )
            self.console.out(f"pod/{name} deleted", source=name)


def _raw_used(work_dir: Path, scratch_dir: Path, pod: str) -> int:
    """Blocking: the bytes kept so far, but for an earlier copy of ``pod`` (which goes)."""
    return extracting.data_size(work_dir) + raw_copies.kept_bytes(scratch_dir, but_of_pod=pod)


async def process_all(processor: PodProcessor, plans: list[PodPlan]) -> list[GatherError]:
    """Every pod, at most ``CONCURRENT_PODS`` at a time; one failure does not stop the rest."""
    slots = asyncio.Semaphore(CONCURRENT_PODS)
    errors: list[GatherError] = []

    async def one(plan: PodPlan) -> None:
        async with slots:
            try:
                await processor.process(plan)
            except GatherError as e:
                errors.append(e)

    tasks = [
        asyncio.create_task(one(plan), name=f"gather-pod-{index}-{plan.image}")
        for index, plan in enumerate(plans)
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return errors
