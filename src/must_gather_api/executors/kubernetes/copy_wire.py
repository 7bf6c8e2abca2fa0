"""What the service and a copy worker say to each other, and how errors cross between them.

The service writes one JSON request on the worker's stdin (the API server, TLS settings and
bearer token travel this way only: never argv, never the environment). The worker writes
JSON lines on its stdout: a ``retry`` notice for each connection retried (the service prints
it to the gathering's console, as for any other call), then one last line, the number of
attempts or the error. An error crosses as its kind, message and status, and becomes the
same exception type with the same message on the service's side.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from must_gather_api.executors.kubernetes.errors import (
    ClusterCallFailed,
    CopyFailed,
    GatherError,
    TooLarge,
)
from must_gather_api.executors.kubernetes.exec_socket import Endpoint


@dataclass(frozen=True)
class CopyRequest:
    """One pod's copy, as the worker needs it. ``remaining`` is in seconds (each process has
    a clock of its own); ``parent`` is the service's pid, for ``die_with_parent``."""

    endpoint: Endpoint
    remaining: float
    namespace: str
    pod: str
    container: str
    source_dir: str
    destination: str
    limit: int | None
    max_entries: int | None
    max_attempts: int
    parent: int

    def encode(self) -> bytes:
        body = {
            "endpoint": self.endpoint.as_json(),
            "remaining": self.remaining,
            "namespace": self.namespace,
            "pod": self.pod,
            "container": self.container,
            "source_dir": self.source_dir,
            "destination": self.destination,
            "limit": self.limit,
            "max_entries": self.max_entries,
            "max_attempts": self.max_attempts,
            "parent": self.parent,
        }
        return json.dumps(body).encode()

    @classmethod
    def decode(cls, raw: bytes) -> CopyRequest:
        data = json.loads(raw)
        return cls(
            endpoint=Endpoint.from_json(data["endpoint"]),
            remaining=float(data["remaining"]),
            namespace=str(data["namespace"]),
            pod=str(data["pod"]),
            container=str(data["container"]),
            source_dir=str(data["source_dir"]),
            destination=str(data["destination"]),
            limit=_int_or_none(data.get("limit")),
            max_entries=_int_or_none(data.get("max_entries")),
            max_attempts=int(data["max_attempts"]),
            parent=int(data["parent"]),
        )


def _int_or_none(value: object) -> int | None:
    return None if value is None else int(str(value))


@dataclass(frozen=True)
class Retried:
    """A connection the worker retries: ``what`` failed for ``reason``, again in ``delay``."""

    what: str
    reason: str
    delay: float


@dataclass(frozen=True)
class Copied:
    attempts: int


@dataclass(frozen=True)
class Failed:
    kind: str
    message: str
    status: int | None = None


Event = Retried | Copied | Failed

_KINDS: dict[type[GatherError], str] = {
    TooLarge: "too-large",
    CopyFailed: "copy-failed",
    ClusterCallFailed: "cluster",
}


class RetryNotice(Exception):
    """A retry in the worker, as the ``on_retry`` hook's error: its words, not its object."""


def line(event: Event) -> bytes:
    """One event as a line of the worker's stdout."""
    if isinstance(event, Retried):
        body: dict[str, Any] = {
            "retry": {"what": event.what, "reason": event.reason, "delay": event.delay}
        }
    elif isinstance(event, Copied):
        body = {"copied": {"attempts": event.attempts}}
    else:
        body = {"failed": {"kind": event.kind, "message": event.message, "status": event.status}}
    return json.dumps(body).encode() + b"\n"


def parse(raw: bytes) -> Event | None:
    """The event on one line of the worker's stdout; None for anything else."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    try:
        if "retry" in body:
            retry = body["retry"]
            return Retried(str(retry["what"]), str(retry["reason"]), float(retry["delay"]))
        if "copied" in body:
            return Copied(int(body["copied"]["attempts"]))
        if "failed" in body:
            failed = body["failed"]
            status = failed.get("status")
            return Failed(
                str(failed["kind"]),
                str(failed["message"]),
                None if status is None else int(status),
            )
    except (KeyError, TypeError, ValueError):
        return None
    return None


def failed(error: GatherError) -> Failed:
    """The error the copy raised in the worker, as the last line says it."""
    for kind_type, kind in _KINDS.items():
        if isinstance(error, kind_type):
            status = error.status if isinstance(error, ClusterCallFailed) else None
            return Failed(kind, error.reason, status)
    return Failed("copy-failed", error.reason)


def error_of(event: Failed) -> GatherError:
    """The worker's error as the exception the copy would have raised in the service."""
    if event.kind == "too-large":
        return TooLarge(event.message)
    if event.kind == "cluster":
        return ClusterCallFailed(event.message, status=event.status)
    return CopyFailed(event.message)
