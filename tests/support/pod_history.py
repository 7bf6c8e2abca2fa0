"""Every pod of ours a kubesim process creates, as the cluster announces it on a watch.

kubesim's audit log (``cluster.audit``) lives in its own process and records no labels;
a watch on pods selected by the gathering label sees each pod the service creates, with
its gathering, however short-lived, and from whichever replica it came. ``pod_history``
runs that watch in a task for the duration of a block.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from support.processes import GATHERING_LABEL, KubesimProcess


@dataclass
class PodHistory:
    """Pods seen: uid -> (gathering id, pod name); ``watching`` is set once the watch
    answered, so that no pod created after it can be missed."""

    pods: dict[str, tuple[int, str]] = field(default_factory=dict)
    watching: asyncio.Event = field(default_factory=asyncio.Event)

    def seen(self, event: dict[str, object]) -> None:
        obj = event.get("object")
        if event.get("type") != "ADDED" or not isinstance(obj, dict):
            return
        meta = obj["metadata"]
        self.pods[meta["uid"]] = (int(meta["labels"][GATHERING_LABEL]), meta["name"])

    def created_per_gathering(self) -> Counter[int]:
        return Counter(gathering for gathering, _ in self.pods.values())


async def _watch(cluster: KubesimProcess, history: PodHistory) -> None:
    params = {"watch": "true", "labelSelector": GATHERING_LABEL, "timeoutSeconds": "600"}
    async with (
        cluster.client() as api,
        api.stream("GET", "/api/v1/pods", params=params, timeout=None) as response,
    ):
        response.raise_for_status()
        history.watching.set()
        async for line in response.aiter_lines():
            if line.strip():
                history.seen(json.loads(line))


@asynccontextmanager
async def pod_history(cluster: KubesimProcess) -> AsyncIterator[PodHistory]:
    history = PodHistory()
    watcher = asyncio.create_task(_watch(cluster, history), name="pod-history")
    try:
        waiting = asyncio.create_task(history.watching.wait(), name="pod-history-started")
        await asyncio.wait({watcher, waiting}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        if watcher.done():
            watcher.result()  # the watch failed: say why
        assert history.watching.is_set(), "kubesim never answered the pod watch"
        yield history
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
