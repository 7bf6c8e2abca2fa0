"""The service's error hierarchy.

Every failure the service reports is one of these. Lower layers translate the errors of
the libraries they use into these (``raise ... from e``); the HTTP layer maps them to
status codes in one place (``api/problems.py``). Messages are written for a person:
they say what was wrong and, where it helps, what to do.
"""

from __future__ import annotations

from enum import StrEnum


class MustGatherError(Exception):
    """Base of every error the service raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(MustGatherError):
    """The caller sent something the service cannot accept (HTTP 400)."""


class InvalidParameter(InvalidRequest):
    """One named parameter of a gathering request is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class RequestTooLarge(InvalidRequest):
    """The request body exceeds the limit (HTTP 413)."""


class GatheringNotFound(MustGatherError):
    """No gathering has this id or custom-name (HTTP 404)."""


class ArchiveNotAvailable(MustGatherError):
    """The gathering exists but has no archive to serve (HTTP 404, as before)."""


class Conflict(MustGatherError):
    """The gathering is not in a state that allows the operation (HTTP 409)."""


class TooManyRequests(MustGatherError):
    """A quota is reached (HTTP 429); ``retry_after`` seconds is a fair time to wait."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailable(MustGatherError):
    """The database cannot be reached or written (HTTP 503)."""


class ServiceStopping(MustGatherError):
    """The service is shutting down and takes no new work (HTTP 503)."""


class ConfigurationError(MustGatherError):
    """A setting is wrong; the service refuses to start."""


class FailureKind(StrEnum):
    """Why a gathering ended in error, as data: the ``failure`` label of the metrics."""

    TIMEOUT = "timeout"
    """The gathering's time ran out (gather still running, or the runner's limit)."""
    IMAGE_PULL = "image-pull"
    """An image could not be pulled."""
    NOT_STARTED = "not-started"
    """A pod never started (unschedulable, pending until the timeout)."""
    POD_FAILED = "pod-failed"
    """The gather container ended with a non-zero exit code."""
    FORBIDDEN = "forbidden"
    """The cluster refused the credentials (401 or 403)."""
    UNREACHABLE = "unreachable"
    """The API server did not answer, or answered with a server error."""
    REFUSED = "refused"
    """What was asked cannot be done there: no such node, image stream or namespace, a call
    the API server rejected, or a credentials rule of the service."""
    COPY_FAILED = "copy-failed"
    """The gathered data could not be copied out of a pod."""
    TOO_LARGE = "too-large"
    """The data is larger than MAX_ARCHIVE_BYTES."""
    NO_DATA = "no-data"
    """Nothing was gathered."""
    STORAGE = "storage"
    """The archive could not be written on the data volume."""
    CLEANUP = "cleanup"
    """What the gathering made in the cluster could not all be removed."""
    CANCELLED = "cancelled"
    """Cancelled by a caller, or by the service stopping."""
    INTERRUPTED = "interrupted"
    """A restart interrupted it and it could not be resumed."""
    NOT_CONFIGURED = "not-configured"
    """The service has no way to reach a cluster."""
    INTERNAL = "internal"
    """A bug: the executor or the runner failed unexpectedly."""


class ExecutionFailed(MustGatherError):
    """A gathering could not be carried out; ``message`` is its error-reason.

    The root of every executor error; ``kind`` says what kind of failure it is.
    """

    kind: FailureKind = FailureKind.INTERNAL

    def __init__(self, message: str, *, kind: FailureKind | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class Unauthenticated(MustGatherError):
    """No valid bearer token (HTTP 401)."""


class Forbidden(MustGatherError):
    """A valid caller without the permission this needs (HTTP 403)."""


class AuthUnavailable(MustGatherError):
    """The cluster could not answer whether the caller may do this (HTTP 503)."""
