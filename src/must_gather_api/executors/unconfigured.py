"""The executor used when the service has no way to reach a cluster.

Every gathering ends at once in `error`, saying so, rather than hanging in the queue.
"""

from __future__ import annotations

from must_gather_api.errors import FailureKind
from must_gather_api.executors.base import Job, Outcome, Output


class UnconfiguredExecutor:
    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def run(self, job: Job, output: Output) -> Outcome:  # noqa: ARG002
        output.line(f"[must-gather-api] cannot gather: {self.reason}")
        return Outcome.failed(FailureKind.NOT_CONFIGURED, self.reason)

    async def recover(self, job: Job, output: Output) -> Outcome | None:  # noqa: ARG002
        return None
