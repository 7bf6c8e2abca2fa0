"""An exec websocket to a pod, opened without the Kubernetes client: for the copy worker.

The copy worker is a process of its own per pod copy; importing the Kubernetes client there
would cost about half a second of CPU at every start for one URL and one header. This opens
the same websocket ``ClusterCalls.exec_stream`` does (the same URL, subprotocols, TLS
settings and bearer token; the connect bounded by the request timeout and retried within
the deadline; failures explained in the same words).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import aiohttp

from must_gather_api.executors.kubernetes.explaining import explain
from must_gather_api.kube import failures, retrying

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")


@dataclass(frozen=True)
class Endpoint:
    """What reaching the API server takes: its URL, TLS settings and credentials.

    The ``authorization`` header value holds a bearer token: it is never part of the repr,
    and travels only over the worker's stdin.
    """

    host: str
    request_timeout: float
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    verify: bool = True
    strict: bool = True
    server_name: str | None = None
    other_server: bool = False
    authorization: str | None = field(default=None, repr=False)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Endpoint:
        return cls(
            host=str(data["host"]),
            request_timeout=float(data["request_timeout"]),
            ca_file=_optional(data.get("ca_file")),
            cert_file=_optional(data.get("cert_file")),
            key_file=_optional(data.get("key_file")),
            verify=bool(data.get("verify", True)),
            strict=bool(data.get("strict", True)),
            server_name=_optional(data.get("server_name")),
            other_server=bool(data.get("other_server", False)),
            authorization=_optional(data.get("authorization")),
        )

    def tls(self) -> ssl.SSLContext:
        """The TLS context the Kubernetes client would make from the same settings."""
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file:
            context.load_cert_chain(self.cert_file, keyfile=self.key_file)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if not self.strict:
            context.verify_flags &= ~ssl.VERIFY_X509_STRICT
        return context

    def exec_url(self, namespace: str, pod: str, *, container: str, command: list[str]) -> str:
        query = [("command", word) for word in command] + [
            ("container", container),
            ("stderr", "true"),
            ("stdin", "false"),
            ("stdout", "true"),
            ("tty", "false"),
        ]
        path = f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(pod, safe='')}/exec"
        scheme, netloc, base, _query, _fragment = urlsplit(self.host.rstrip("/"))
        scheme = {"https": "wss", "http": "ws"}.get(scheme, scheme)
        return urlunsplit((scheme, netloc, base + path, urlencode(query), ""))


def _optional(value: object) -> str | None:
    return None if value is None else str(value)


RetryHook = Callable[[str, BaseException, float], None]


class ExecClient:
    """Exec websockets to one API server, with one identity, until ``deadline``."""

    def __init__(
        self, endpoint: Endpoint, *, deadline: float, on_retry: RetryHook | None = None
    ) -> None:
        self.endpoint = endpoint
        self.deadline = deadline
        self._on_retry = on_retry
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ExecClient:
        connector = aiohttp.TCPConnector(ssl=self.endpoint.tls())
        # trust_env as the Kubernetes client's session: proxies from the environment apply.
        self._session = aiohttp.ClientSession(connector=connector, trust_env=True)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    @asynccontextmanager
    async def exec_stream(
        self, namespace: str, pod: str, *, container: str, command: list[str], what: str
    ) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
        """An exec websocket (v5, else v4) whose binary frames the caller demultiplexes."""
        session = self._session
        if session is None:
            raise RuntimeError("ExecClient used outside its context")
        endpoint = self.endpoint
        url = endpoint.exec_url(namespace, pod, container=container, command=command)
        headers = {"Authorization": endpoint.authorization} if endpoint.authorization else {}

        async def once() -> aiohttp.ClientWebSocketResponse:
            async with asyncio.timeout(endpoint.request_timeout):
                return await session.ws_connect(
                    url,
                    protocols=PROTOCOLS,
                    headers=headers,
                    server_hostname=endpoint.server_name,
                )

        hook = self._on_retry

        def retried(error: BaseException, delay: float) -> None:
            if hook is not None:
                hook(what, error, delay)

        try:
            socket = await retrying.retry(once, deadline=self.deadline, what=what, on_retry=retried)
        except failures.UNREACHABLE as e:
            raise explain(e, what, other_server=endpoint.other_server) from e
        try:
            yield socket
        finally:
            await socket.close()
