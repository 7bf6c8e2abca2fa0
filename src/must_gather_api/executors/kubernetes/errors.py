"""The errors of the native executor: each says, in words a person can act on, what failed.

They end a pod's processing (or the whole gathering) and become the gathering's outcome, a
``Failure`` of their ``kind``; cluster errors are translated into them where the call is
made. Their root is the service's ``ExecutionFailed``.
"""

from __future__ import annotations

from must_gather_api.errors import ExecutionFailed, FailureKind
from must_gather_api.kube.failures import TRANSIENT_STATUSES


class GatherError(ExecutionFailed):
    """Something the gathering could not do; ``reason`` is the sentence to show.

    Without a more precise class or ``kind``, what was asked cannot be done (``refused``).
    """

    kind = FailureKind.REFUSED

    @property
    def reason(self) -> str:
        return self.message


class ClusterCallFailed(GatherError):
    """The API server refused or did not answer (after retries, where retrying made sense)."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        if self.unauthorized:
            self.kind = FailureKind.FORBIDDEN
        elif status is None or status in TRANSIENT_STATUSES:
            self.kind = FailureKind.UNREACHABLE

    @property
    def unauthorized(self) -> bool:
        return self.status in (401, 403)


class PodNotStarted(GatherError):
    """The gather container never ran: unpullable image, unschedulable, or out of time."""

    kind = FailureKind.NOT_STARTED


class GatherFailed(GatherError):
    """The gather container ended with a non-zero exit code."""

    kind = FailureKind.POD_FAILED

    def __init__(self, reason: str, *, exit_code: int) -> None:
        super().__init__(reason)
        self.exit_code = exit_code


class GatherTimedOut(GatherError):
    """The gathering's timeout passed before the gather container ended."""

    kind = FailureKind.TIMEOUT


class CopyFailed(GatherError):
    """The pod's data could not be copied out completely."""

    kind = FailureKind.COPY_FAILED


class TooLarge(GatherError):
    """The pod's data is larger than MAX_ARCHIVE_BYTES allows."""

    kind = FailureKind.TOO_LARGE
