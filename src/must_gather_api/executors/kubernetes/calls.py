"""Calls to the API server on behalf of one gathering, as plain JSON.

Every call has the request timeout of the settings, transient failures are retried within
the gathering's deadline (``kube.retrying``), and API errors leave as ``ClusterCallFailed``
with a message a person can act on. Objects are plain dicts, as the API server sends them,
so the inspect fallback can write them as they are.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.stream import WsApiClient

from must_gather_api.executors.kubernetes.errors import ClusterCallFailed
from must_gather_api.executors.kubernetes.exec_socket import PROTOCOLS, Endpoint
from must_gather_api.executors.kubernetes.explaining import explain as explain
from must_gather_api.kube import failures, retrying

Query = Mapping[str, str | int | bool | list[str]]
EXEC_PROTOCOLS = ",".join(PROTOCOLS)
_JSON = {"Accept": "application/json", "Content-Type": "application/json"}
_ERROR_BODY_LIMIT = 64 * 1024  # of an error answer to a stream: a Status object, or a page


class _Sockets:
    """The websocket client, made on first use and shared by every view of the calls."""

    def __init__(self) -> None:
        self._client: WsApiClient | None = None

    def client(self, api: client.ApiClient) -> WsApiClient:
        if self._client is None:
            self._client = WsApiClient(configuration=api.configuration)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


class ClusterCalls:
    """The API of one cluster, with one identity, for one gathering."""

    def __init__(
        self,
        api: client.ApiClient,
        *,
        request_timeout: float,
        deadline: float,
        on_retry: Callable[[str, BaseException, float], None] | None = None,
        other_server: bool = False,
    ) -> None:
        self.api = api
        self.other_server = other_server
        self.request_timeout = request_timeout
        self.deadline = deadline
        self._on_retry = on_retry
        self._sockets = _Sockets()

    def bounded(self, deadline: float) -> ClusterCalls:
        """The same clients with another deadline (copying may go on past the timeout)."""
        other = copy.copy(self)
        other.deadline = deadline
        return other

    async def close(self) -> None:
        await self._sockets.close()
        await self.api.close()

    async def __aenter__(self) -> ClusterCalls:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        """Closes the clients (``bounded`` copies share them: close the original only)."""
        await self.close()

    async def endpoint(self) -> Endpoint:
        """How to reach this cluster with this identity, for a process of its own (the copy
        worker): the URL, the TLS settings and the current bearer token (a refresh hook,
        as in-cluster, is run for it now)."""
        configuration = self.api.configuration
        authorization = await configuration.get_api_key_with_prefix("BearerToken")
        return Endpoint(
            host=str(configuration.host),
            request_timeout=self.request_timeout,
            ca_file=configuration.ssl_ca_cert,
            cert_file=configuration.cert_file,
            key_file=configuration.key_file,
            verify=bool(configuration.verify_ssl),
            strict=not configuration.disable_strict_ssl_verification,
            server_name=configuration.tls_server_name,
            other_server=self.other_server,
            authorization=authorization or None,
        )

    def retried(self, what: str, error: BaseException, delay: float) -> None:
        """Tells the retry hook of a call retried elsewhere (in the copy worker)."""
        if self._on_retry is not None:
            self._on_retry(what, error, delay)

    def _retry_hook(self, what: str) -> Callable[[BaseException, float], None] | None:
        hook = self._on_retry
        if hook is None:
            return None
        return lambda error, delay: hook(what, error, delay)

    async def request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        query: Query | None = None,
        body: Any = None,
        retry: bool = True,
        deadline: float | None = None,
        accept: str | None = None,
    ) -> Any:
        """The decoded JSON answer, or ClusterCallFailed saying what could not be done.
        ``accept`` replaces the JSON Accept header (aggregated discovery asks for its own)."""
        headers = dict(_JSON)
        if accept is not None:
            headers["Accept"] = accept
        params: list[tuple[str, Any]] = []
        for key, value in (query or {}).items():
            if isinstance(value, list):
                params.extend((key, item) for item in value)
            else:
                params.append((key, value))

        async def once() -> Any:
            return await self.api.call_api(
                path,
                method,
                query_params=params,
                header_params=headers,
                body=body,
                response_types_map={200: "object", 201: "object", 202: "object"},
                auth_settings=["BearerToken"],
                _return_http_data_only=True,
                _request_timeout=self.request_timeout,
            )

        try:
            if not retry:
                return await once()
            return await retrying.retry(
                once,
                deadline=deadline if deadline is not None else self.deadline,
                what=what,
                on_retry=self._retry_hook(what),
            )
        except (ApiException, *failures.UNREACHABLE) as e:
            raise explain(e, what, other_server=self.other_server) from e

    async def get(self, path: str, *, what: str, query: Query | None = None) -> Any:
        return await self.request("GET", path, what=what, query=query)

    async def post(self, path: str, body: Any, *, what: str) -> Any:
        return await self.request("POST", path, what=what, body=body)

    async def delete(self, path: str, *, what: str, deadline: float | None = None) -> Any:
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        return await self.request("DELETE", path, what=what, body=body, deadline=deadline)

    async def exists(self, path: str, *, what: str) -> bool:
        """Whether GET ``path`` finds something (404 is an answer, not an error)."""
        try:
            await self.get(path, what=what)
        except ClusterCallFailed as e:
            if e.status == 404:
                return False
            raise
        return True

    async def keep_alive(self) -> None:
        """``GET /version``: activity that keeps an OAuth token with an inactivity timeout."""
        await self.request("GET", "/version", what="call /version", retry=False)

    @asynccontextmanager
    async def log_stream(
        self, namespace: str, pod: str, *, query: Query, what: str
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """An open ``pods/log`` response to read as it comes; the caller bounds the time."""
        params = [
            (key, str(value).lower() if isinstance(value, bool) else value)
            for key, value in query.items()
        ]
        timeout = aiohttp.ClientTimeout(
            total=None, connect=self.request_timeout, sock_connect=self.request_timeout
        )

        async def once() -> Any:
            response: aiohttp.ClientResponse = await self.api.call_api(
                f"/api/v1/namespaces/{namespace}/pods/{pod}/log",
                "GET",
                query_params=params,
                header_params={"Accept": "*/*"},
                auth_settings=["BearerToken"],
                _return_http_data_only=True,
                _preload_content=False,
                _request_timeout=timeout,
            )
            if 200 <= response.status <= 299:
                return response
            # The client checks the status only when it reads the body itself: without this
            # an API server's error (a Status object) would be read as the pod's log.
            try:
                body = await response.content.read(_ERROR_BODY_LIMIT)
            finally:
                response.release()
            error = ApiException(status=response.status, reason=response.reason)
            error.body, error.headers = body, response.headers  # as the client fills them
            raise error

        try:
            response: aiohttp.ClientResponse = await retrying.retry(
                once, deadline=self.deadline, what=what, on_retry=self._retry_hook(what)
            )
        except (ApiException, *failures.UNREACHABLE) as e:
            raise explain(e, what, other_server=self.other_server) from e
        try:
            yield response
        finally:
            response.release()

    @asynccontextmanager
    async def exec_stream(
        self, namespace: str, pod: str, *, container: str, command: list[str], what: str
    ) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
        """An exec websocket (v5, else v4) whose binary frames the caller demultiplexes."""
        # The generated signature types ``command`` as one string; the websocket client
        # takes a list (one ``command`` query parameter per word) and ``_headers``.
        core: Any = client.CoreV1Api(self._sockets.client(self.api))

        async def once() -> Any:
            # The websocket client takes no request timeout: the connect is bounded here
            # (a TimeoutError is transient, so it is retried within the deadline).
            async with asyncio.timeout(self.request_timeout):
                connecting = await core.connect_get_namespaced_pod_exec(
                    pod,
                    namespace,
                    command=command,
                    container=container,
                    stdout=True,
                    stderr=True,
                    stdin=False,
                    tty=False,
                    _preload_content=False,
                    _headers={"sec-websocket-protocol": EXEC_PROTOCOLS},
                )
                return await connecting

        try:
            socket: aiohttp.ClientWebSocketResponse = await retrying.retry(
                once, deadline=self.deadline, what=what, on_retry=self._retry_hook(what)
            )
        except (ApiException, *failures.UNREACHABLE) as e:
            raise explain(e, what, other_server=self.other_server) from e
        try:
            yield socket
        finally:
            await socket.close()

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())
