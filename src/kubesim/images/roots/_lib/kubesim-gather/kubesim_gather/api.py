"""A tiny Kubernetes API client over http.client, configured like an in-cluster client."""

from __future__ import annotations

import http.client
import json
import os
import ssl
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from kubesim_gather.container import container_path

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
TIMEOUT_SECONDS = 30.0
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
_ATTEMPTS = 4
# An unreachable API seldom comes back within a second: fail fast and let the script go on.
_CONNECT_ATTEMPTS = 2
_CHUNK = 1 << 16

Query = Mapping[str, str | int | bool | None]


class ApiError(Exception):
    """A request failed: a Status from the server (``status`` set) or no answer at all."""

    def __init__(self, message: str, *, status: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason

    @property
    def not_found(self) -> bool:
        return self.status == 404


@dataclass(frozen=True)
class ApiClient:
    scheme: str
    host: str
    port: int
    token: str | None
    ca_file: Path | None
    timeout: float = TIMEOUT_SECONDS

    @classmethod
    def from_environment(cls) -> ApiClient:
        host = os.environ.get("KUBERNETES_SERVICE_HOST", "")
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "")
        if not host or not port:
            raise ApiError("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set")
        sa_dir = container_path(SERVICE_ACCOUNT_DIR)
        token_file = sa_dir / "token"
        ca_file = sa_dir / "ca.crt"
        token = token_file.read_text().strip() if token_file.is_file() else None
        # Unit tests serve the API over plain HTTP; real pods always get HTTPS.
        scheme = os.environ.get("KUBESIM_API_SCHEME", "https")
        return cls(
            scheme=scheme,
            host=host,
            port=int(port),
            token=token,
            ca_file=ca_file if ca_file.is_file() else None,
        )

    # -- requests -----------------------------------------------------------------------------

    def get_json(self, path: str, query: Query | None = None) -> dict[str, Any]:
        body = b"".join(self._get_chunks(path, query))
        try:
            decoded = json.loads(body)
        except ValueError as e:
            raise ApiError(f"GET {path}: the answer is not JSON") from e
        if not isinstance(decoded, dict):
            raise ApiError(f"GET {path}: the answer is not a JSON object")
        return decoded

    def list_items(self, path: str, query: Query | None = None) -> list[dict[str, Any]]:
        items = self.get_json(path, query).get("items") or []
        return [item for item in items if isinstance(item, dict)]

    def get_to_file(self, path: str, out: BinaryIO, query: Query | None = None) -> int:
        """Streams a GET answer (a log, say) into ``out``; returns the bytes written."""
        written = 0
        for chunk in self._get_chunks(path, query):
            out.write(chunk)
            written += len(chunk)
        return written

    def get_bytes(self, path: str, query: Query | None = None) -> bytes:
        return b"".join(self._get_chunks(path, query))

    # -- internals ----------------------------------------------------------------------------

    def _target(self, path: str, query: Query | None) -> str:
        params = {
            key: ("true" if value is True else "false" if value is False else str(value))
            for key, value in (query or {}).items()
            if value is not None
        }
        return path + ("?" + urllib.parse.urlencode(params) if params else "")

    def _connection(self) -> http.client.HTTPConnection:
        host = self.host.strip("[]")
        if self.scheme == "http":
            return http.client.HTTPConnection(host, self.port, timeout=self.timeout)
        context = ssl.create_default_context(
            cafile=str(self.ca_file) if self.ca_file is not None else None
        )
        return http.client.HTTPSConnection(host, self.port, timeout=self.timeout, context=context)

    def _get_chunks(self, path: str, query: Query | None) -> Iterator[bytes]:
        target = self._target(path, query)
        headers = {"Accept": "application/json, */*", "User-Agent": "kubesim-gather/1"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        for attempt in range(1, _ATTEMPTS + 1):
            conn = self._connection()
            try:
                try:
                    conn.request("GET", target, headers=headers)
                    response = conn.getresponse()
                except (OSError, http.client.HTTPException) as e:
                    if attempt >= _CONNECT_ATTEMPTS:
                        raise ApiError(f"GET {path}: {e}") from e
                    time.sleep(0.2 * attempt)
                    continue
                if response.status in _RETRIED_STATUSES and attempt < _ATTEMPTS:
                    response.read()
                    time.sleep(_retry_delay(response.getheader("Retry-After"), attempt))
                    continue
                if response.status >= 400:
                    raise _status_error(path, response.status, response.read())
                try:
                    while chunk := response.read(_CHUNK):
                        yield chunk
                except (OSError, http.client.HTTPException) as e:
                    raise ApiError(f"GET {path}: the answer broke off: {e}") from e
                return
            finally:
                conn.close()


def _retry_delay(retry_after: str | None, attempt: int) -> float:
    try:
        return min(float(retry_after or ""), 5.0)
    except ValueError:
        return 0.2 * attempt


def _status_error(path: str, status: int, body: bytes) -> ApiError:
    message, reason = "", ""
    try:
        decoded = json.loads(body)
        if isinstance(decoded, dict):
            message = str(decoded.get("message", ""))
            reason = str(decoded.get("reason", ""))
    except ValueError:
        message = body[:200].decode("utf-8", "replace")
    return ApiError(f"GET {path}: {status} {message}".rstrip(), status=status, reason=reason)
