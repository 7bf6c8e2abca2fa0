"""Typed calls to the REST API; every failure leaves here as a ClientError.

Gatherings are addressed by id or custom-name, percent-encoded into the path (custom-names
may hold ``:`` and spaces).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx2

from must_gather_api.client.connection import Connection
from must_gather_api.client.errors import (
    ClientError,
    NotAuthenticated,
    NotFound,
    Refused,
    Unreachable,
    UsageError,
)

FINISHED = frozenset({"completed", "error"})
# Cancelling answers once the gathering has stopped and packed what it had gathered.
CANCEL_TIMEOUT = httpx2.Timeout(180.0, connect=10.0)


@dataclass(frozen=True)
class Gathering:
    """One gathering object as the server sent it, with typed access to what the client uses."""

    raw: dict[str, Any]

    @classmethod
    def from_json(cls, value: Any) -> Gathering:
        if not isinstance(value, dict) or not isinstance(value.get("id"), int):
            raise ClientError("the server's answer is not a gathering; is --server right?")
        return cls(value)

    def _text(self, key: str) -> str:
        return str(self.raw.get(key) or "")

    @property
    def id(self) -> int:
        return int(self.raw["id"])

    @property
    def status(self) -> str:
        return self._text("status")

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def custom_name(self) -> str:
        return self._text("custom-name")

    @property
    def error_reason(self) -> str:
        return self._text("error-reason")

    @property
    def archive_name(self) -> str:
        return self._text("archive-name")

    @property
    def archive_sha256(self) -> str:
        return self._text("archive-sha256")

    @property
    def archive_size(self) -> int:
        return int(self.raw.get("archive-size") or 0)

    @property
    def exec_output(self) -> str:
        return self._text("exec-output")

    @property
    def created_at(self) -> datetime | None:
        text = self._text("created-at")
        return datetime.fromisoformat(text) if text else None


def describe_transport_error(server: str, error: httpx2.TransportError) -> str:
    if isinstance(error, httpx2.TimeoutException):
        return f"the server at {server} did not answer in time; is it up and reachable?"
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return (
                f"the certificate of {server} is not trusted ({cause.verify_message}); "
                "give --ca-file with its CA, or --insecure (unsafe)"
            )
        cause = cause.__cause__ or cause.__context__
    return f"cannot connect to {server} ({error or type(error).__name__}); check --server"


def error_for(response: httpx2.Response, connection: Connection, *, what: str) -> ClientError:
    """The ClientError for an error answer; ``what`` names the thing asked for."""
    detail = _detail(response)
    status = response.status_code
    if status == 401:
        if not connection.token:
            return NotAuthenticated(
                "the server needs a token: give --token, set MUST_GATHER_API_TOKEN, "
                "or log in to the cluster (oc login)"
            )
        return NotAuthenticated(
            f"the server refused the token from {connection.token_source} ({detail}); "
            "log in again or give another --token"
        )
    if status == 403:
        return NotAuthenticated(
            f"the token from {connection.token_source} is not allowed to use the service ({detail})"
        )
    if status == 404:
        return NotFound(f"{what}: {detail}" if detail else f"{what} was not found")
    if status in (400, 413, 422):
        return UsageError(f"the server refused the request: {detail}")
    if status == 409:
        return Refused(detail)
    if status >= 500:
        return Unreachable(f"the server at {connection.server} cannot answer now ({detail})")
    return ClientError(f"unexpected answer {status} from {connection.server} ({detail})")


def _detail(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return str(body["detail"]).splitlines()[0] if body["detail"] else ""
    return response.reason_phrase or f"HTTP {response.status_code}"


def path_of(reference: str) -> str:
    return f"/must-gather/{quote(reference, safe='')}"


class Api:
    """The service's REST API over one HTTP client."""

    def __init__(self, client: httpx2.AsyncClient, connection: Connection) -> None:
        self.client = client
        self.connection = connection

    @classmethod
    @asynccontextmanager
    async def open(cls, connection: Connection) -> AsyncIterator[Api]:
        async with connection.client() as client:
            yield cls(client, connection)

    async def _request(self, method: str, url: str, *, what: str, **kwargs: Any) -> httpx2.Response:
        try:
            response = await self.client.request(method, url, **kwargs)
        except httpx2.TransportError as e:
            raise Unreachable(describe_transport_error(self.connection.server, e)) from e
        if response.status_code >= 400:
            raise error_for(response, self.connection, what=what)
        return response

    async def get_json(self, url: str, *, what: str, params: dict[str, str] | None = None) -> Any:
        """A GET whose answer is JSON (the archive's files, its summary)."""
        return (await self._request("GET", url, what=what, params=params)).json()

    async def create(self, request: dict[str, Any]) -> Gathering:
        response = await self._request("POST", "/must-gather", json=request, what="the request")
        return Gathering.from_json(response.json())

    async def list(self, *, status: str | None = None, name: str | None = None) -> list[Gathering]:
        params = {"status": status, "custom-name": name}
        response = await self._request(
            "GET",
            "/must-gather",
            params={key: value for key, value in params.items() if value},
            what="the list",
        )
        body = response.json()
        if not isinstance(body, list):
            raise ClientError("the server's answer is not a list of gatherings; is --server right?")
        return [Gathering.from_json(item) for item in body]

    async def get(self, reference: str) -> Gathering:
        response = await self._request("GET", path_of(reference), what=f"gathering {reference!r}")
        return Gathering.from_json(response.json())

    async def remove(self, reference: str) -> Gathering | None:
        """DELETE: the cancelled gathering (200), or None when a finished one was removed (204)."""
        response = await self._request(
            "DELETE", path_of(reference), what=f"gathering {reference!r}", timeout=CANCEL_TIMEOUT
        )
        return None if response.status_code == 204 else Gathering.from_json(response.json())

    @asynccontextmanager
    async def stream(
        self,
        url: str,
        *,
        what: str,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        timeouts: httpx2.Timeout | None = None,
    ) -> AsyncIterator[httpx2.Response]:
        """A streamed GET; transport errors while reading are the caller's to translate."""
        request = self.client.build_request(
            "GET",
            url,
            headers=headers,
            params=params,
            timeout=timeouts if timeouts is not None else self.client.timeout,
        )
        try:
            response = await self.client.send(request, stream=True)
        except httpx2.TransportError as e:
            raise Unreachable(describe_transport_error(self.connection.server, e)) from e
        try:
            if response.status_code >= 400:
                await response.aread()
                raise error_for(response, self.connection, what=what)
            yield response
        finally:
            await response.aclose()
