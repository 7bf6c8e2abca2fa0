"""kubesim's one error hierarchy; the server turns each into a Kubernetes ``Status``."""

from __future__ import annotations

from typing import Any


class KubesimError(Exception):
    """Base of every error kubesim raises on purpose."""

    code = 500
    reason = "InternalError"

    def __init__(
        self,
        message: str,
        *,
        kind: str = "",
        name: str = "",
        group: str = "",
        causes: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.name = name
        self.group = group
        self.causes = causes or []

    def status(self) -> dict[str, Any]:
        """The Kubernetes ``Status`` object this error is reported as."""
        details: dict[str, Any] = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = self.causes
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if details:
            body["details"] = details
        return body


class NotFound(KubesimError):
    code = 404
    reason = "NotFound"


class AlreadyExists(KubesimError):
    code = 409
    reason = "AlreadyExists"


class Conflict(KubesimError):
    code = 409
    reason = "Conflict"


class Invalid(KubesimError):
    code = 422
    reason = "Invalid"


class BadRequest(KubesimError):
    code = 400
    reason = "BadRequest"


class Unauthorized(KubesimError):
    code = 401
    reason = "Unauthorized"


class Forbidden(KubesimError):
    code = 403
    reason = "Forbidden"


class MethodNotAllowed(KubesimError):
    code = 405
    reason = "MethodNotAllowed"


class Gone(KubesimError):
    """A watch asked for a resourceVersion older than the history kept."""

    code = 410
    reason = "Expired"


class UnsupportedMediaType(KubesimError):
    code = 415
    reason = "UnsupportedMediaType"
