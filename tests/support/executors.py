"""A fake executor, driven by the image name, for tests of everything above executors.

Images understood:
    fake/ok             writes a small tree and completes (so does any image not fake/*)
    fake/own-archive    writes one must-gather.tar.gz (as the Forklift image does)
    fake/fail           writes some data, then fails
    fake/empty          completes having gathered nothing
    fake/block          waits until ``release(id)`` (or cancellation)
    fake/leaky          prints the caller's token and a bearer header into its output
    fake/crash          raises an unexpected exception
    fake/unsafe-archive writes kubesim's unsafe must-gather.tar.gz (``..``, setuid, ...)
    fake/leaks-a-path   fails with a reason naming a file of the service and an error class
"""

from __future__ import annotations

import asyncio
import io
import tarfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from must_gather_api.errors import FailureKind
from must_gather_api.executors.base import Job, Outcome, Output
from support.hostile import unsafe_archive


@dataclass
class FakeExecutor:
    started: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)
    peak: int = 0
    resumable: bool = False
    _running: int = 0
    _release: dict[int, asyncio.Event] = field(default_factory=lambda: defaultdict(asyncio.Event))
    _started_events: dict[int, asyncio.Event] = field(
        default_factory=lambda: defaultdict(asyncio.Event)
    )
    jobs: dict[int, Job] = field(default_factory=dict)

    def release(self, gathering_id: int) -> None:
        self._release[gathering_id].set()

    async def wait_started(self, gathering_id: int) -> None:
        await self._started_events[gathering_id].wait()

    async def run(self, job: Job, output: Output) -> Outcome:
        self.started.append(job.gathering_id)
        self.jobs[job.gathering_id] = job
        self._running += 1
        self.peak = max(self.peak, self._running)
        self._started_events[job.gathering_id].set()
        try:
            return await self._behave(job, output)
        except asyncio.CancelledError:
            self.cancelled.append(job.gathering_id)
            raise
        finally:
            self._running -= 1

    async def recover(self, job: Job, output: Output) -> Outcome | None:
        self.recovered.append(job.gathering_id)
        if not self.resumable:
            return None
        output.line("resumed")
        (job.work_dir / "resumed.txt").write_text("resumed\n")
        return Outcome()

    async def _behave(self, job: Job, output: Output) -> Outcome:
        image = job.options.image_names[0] if job.options.image_names else ""
        output.line(f"[fake] gathering with {image}")
        if image == "fake/ok" or not image.startswith("fake/"):
            (job.work_dir / "version").write_text("fake/ok\n1.0.0\n")
            (job.work_dir / "namespaces" / "default").mkdir(parents=True)
            (job.work_dir / "namespaces" / "default" / "events.yaml").write_text("items: []\n")
            output.line("[fake] done")
            return Outcome()
        if image == "fake/sensitive":
            write_sensitive_tree(job.work_dir)
            return Outcome()
        if image == "fake/own-archive":
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
                data = b"plan data\n"
                info = tarfile.TarInfo("must-gather/plan.yaml")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            target = job.work_dir / "image-dir" / "must-gather.tar.gz"
            target.parent.mkdir()
            target.write_bytes(buffer.getvalue())
            return Outcome()
        if image == "fake/fail":
            (job.work_dir / "partial.txt").write_text("partial\n")
            return Outcome.failed(FailureKind.POD_FAILED, "gather exited with code 1")
        if image == "fake/empty":
            return Outcome()
        if image == "fake/block":
            (job.work_dir / "started.txt").write_text("started\n")
            await self._release[job.gathering_id].wait()
            return Outcome()
        if image == "fake/leaky":
            # A gather script that prints what it should not: both must be masked.
            token = job.credentials.token if job.credentials else ""
            output.line(f"[fake] using token {token}")
            output.line("[fake] curl -H 'Authorization: Bearer abcdefghijklmnop0123' ...")
            (job.work_dir / "version").write_text("fake/leaky\n1.0.0\n")
            return Outcome()
        if image == "fake/leaky-failure":
            # A gather script whose last error line (kept for error-reason) holds tokens.
            token = job.credentials.token if job.credentials else ""
            return Outcome.failed(
                FailureKind.POD_FAILED,
                f"gather failed; its last error line: error: token {token} refused "
                "(Authorization: Bearer abcdefghijklmnop0123)",
            )
        if image == "fake/crash":
            raise RuntimeError("boom")
        if image == "fake/unsafe-archive":
            await asyncio.to_thread(unsafe_archive, job.work_dir / "image-dir")
            return Outcome()
        if image == "fake/leaks-a-path":
            (job.work_dir / "partial.txt").write_text("partial\n")
            missing = job.work_dir.parent / "copy-must-gather-x1.tar"
            return Outcome.failed(
                FailureKind.INTERNAL,
                f"the executor failed: FileNotFoundError: [Errno 2] "
                f"No such file or directory: '{missing}'; also {job.work_dir}/x is gone",
            )
        return Outcome.failed(FailureKind.REFUSED, f"the fake executor does not know {image!r}")


SENSITIVE = (b"10.0.0.10", b"10-0-0-10", b"demo.example.com", b"fa:16:3e:aa:bb:cc", b"hunter2")
"""What ``fake/sensitive`` gathers that a redacted archive must not hold."""


def write_sensitive_tree(tree: Path) -> None:
    node = tree / "image" / "cluster-scoped-resources" / "core" / "nodes" / "ip-10-0-0-10.yaml"
    node.parent.mkdir(parents=True)
    node.write_text(
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: ip-10-0-0-10\n"
        "  annotations: {mac: 'fa:16:3e:aa:bb:cc'}\nstatus:\n  addresses:\n"
        "  - {type: InternalIP, address: 10.0.0.10}\n"
        "  - {type: InternalDNS, address: ip-10-0-0-10.demo.example.com}\n"
    )
    config_maps = tree / "image" / "namespaces" / "default" / "core" / "configmaps.yaml"
    config_maps.parent.mkdir(parents=True)
    config_maps.write_text("apiVersion: v1\nkind: ConfigMapList\nitems:\n- data: {pw: hunter2}\n")
    log = tree / "image" / "namespaces" / "default" / "pods" / "web" / "web.log"
    log.parent.mkdir(parents=True)
    log.write_text("GET from 10.0.0.10 to api.demo.example.com\n")
