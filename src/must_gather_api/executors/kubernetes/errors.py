"""The errors of the native executor: each says, in words a person can act on, what failed.

They end a pod's processing (or the whole gathering) and become the gathering's
``error_reason``; cluster errors are translated into them where the call is made.
"""

from __future__ import annotations


class GatherError(Exception):
    """Something the gathering could not do; ``str(error)`` is the reason to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ClusterCallFailed(GatherError):
    """The API server refused or did not answer (after retries, where retrying made sense)."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status

    @property
    def unauthorized(self) -> bool:
        return self.status in (401, 403)


class PodNotStarted(GatherError):
    """The gather container never ran: unpullable image, unschedulable, or out of time."""


class GatherFailed(GatherError):
    """The gather container ended with a non-zero exit code."""

    def __init__(self, reason: str, *, exit_code: int) -> None:
        super().__init__(reason)
        self.exit_code = exit_code


class GatherTimedOut(GatherError):
    """The gathering's timeout passed before the gather container ended."""


class CopyFailed(GatherError):
    """The pod's data could not be copied out completely."""


class TooLarge(GatherError):
    """The pod's data is larger than MAX_ARCHIVE_BYTES allows."""
