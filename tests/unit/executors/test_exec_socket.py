"""The copy worker's exec client: the endpoint taken from the gathering's configuration
(TLS settings, a fresh token), bounded connects retried within the deadline, and failures
explained in the words of every other call."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web
from kubernetes_asyncio import client

from must_gather_api.executors.kubernetes.calls import ClusterCalls
from must_gather_api.executors.kubernetes.errors import ClusterCallFailed
from must_gather_api.executors.kubernetes.exec_socket import Endpoint, ExecClient


@pytest_asyncio.fixture
async def refusing_server() -> AsyncIterator[tuple[str, list[web.Request]]]:
    """An HTTP server that answers every exec upgrade 403 and keeps the requests."""
    seen: list[web.Request] = []

    async def refuse(request: web.Request) -> web.Response:
        seen.append(request)
        return web.json_response({"kind": "Status", "message": "forbidden"}, status=403)

    app = web.Application()
    app.router.add_get("/{tail:.*}", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


@pytest.mark.asyncio
async def test_the_endpoint_is_the_configurations_with_a_fresh_token() -> None:
    api = client.ApiClient(client.Configuration(host="https://api.example:6443"))
    # Set after the client is made: it would load these files for its own TLS context.
    configuration = api.configuration
    configuration.ssl_ca_cert = "/ca.crt"
    configuration.cert_file = "/client.crt"
    configuration.key_file = "/client.key"
    configuration.tls_server_name = "api.internal"
    configuration.api_key = {"BearerToken": "old"}
    configuration.api_key_prefix = {"BearerToken": "Bearer"}
    refreshed: list[int] = []

    def refresh(conf: client.Configuration) -> None:
        refreshed.append(1)
        conf.api_key = {"BearerToken": "new"}

    configuration.refresh_api_key_hook = refresh
    async with ClusterCalls(api, request_timeout=7.0, deadline=0.0, other_server=True) as calls:
        endpoint = await calls.endpoint()
    assert refreshed == [1]
    assert endpoint == Endpoint(
        host="https://api.example:6443",
        request_timeout=7.0,
        ca_file="/ca.crt",
        cert_file="/client.crt",
        key_file="/client.key",
        verify=True,
        strict=True,
        server_name="api.internal",
        other_server=True,
        authorization="Bearer new",
    )


@pytest.mark.asyncio
async def test_without_a_token_no_authorization_is_sent(
    refusing_server: tuple[str, list[web.Request]],
) -> None:
    host, seen = refusing_server
    async with ClusterCalls(
        client.ApiClient(client.Configuration(host=host)), request_timeout=5.0, deadline=0.0
    ) as calls:
        endpoint = await calls.endpoint()
    assert endpoint.authorization is None
    async with ExecClient(endpoint, deadline=time.monotonic() + 5) as exec_client:
        with pytest.raises(ClusterCallFailed):
            async with exec_client.exec_stream(
                "ns", "pod", container="copy", command=["true"], what="exec"
            ):
                pass
    assert len(seen) == 1 and "Authorization" not in seen[0].headers


@pytest.mark.asyncio
async def test_a_refused_exec_is_explained_with_its_status_and_not_retried(
    refusing_server: tuple[str, list[web.Request]],
) -> None:
    host, seen = refusing_server
    endpoint = Endpoint(host=host, request_timeout=5.0, authorization="Bearer secret-token")
    retries: list[str] = []
    async with ExecClient(
        endpoint,
        deadline=time.monotonic() + 5,
        on_retry=lambda what, _error, _delay: retries.append(what),
    ) as exec_client:
        with pytest.raises(ClusterCallFailed) as raised:
            async with exec_client.exec_stream(
                "ns", "pod", container="copy", command=["tar", "-c", "."], what="copy the data"
            ):
                pass
    assert raised.value.status == 403
    assert raised.value.reason.startswith("cannot copy the data: the API server refused")
    assert "secret-token" not in raised.value.reason
    assert retries == []
    assert len(seen) == 1
    request = seen[0]
    assert request.headers["Authorization"] == "Bearer secret-token"
    assert request.headers["Sec-WebSocket-Protocol"] == "v5.channel.k8s.io,v4.channel.k8s.io"
    assert request.path == "/api/v1/namespaces/ns/pods/pod/exec"
    assert request.query.getall("command") == ["tar", "-c", "."]


@pytest.mark.asyncio
async def test_an_exec_connect_that_gets_no_answer_is_bounded_and_retried(
    silent_server: tuple[str, list[int]],
) -> None:
    host, accepted = silent_server
    started = time.monotonic()
    retries: list[str] = []
    async with ExecClient(
        Endpoint(host=host, request_timeout=0.3),
        deadline=started + 1.0,
        on_retry=lambda what, _error, _delay: retries.append(what),
    ) as exec_client:
        with pytest.raises(ClusterCallFailed, match="did not answer in time"):
            async with exec_client.exec_stream(
                "ns", "pod", container="copy", command=["true"], what="exec"
            ):
                pass
    assert 2 <= len(accepted) <= 4
    assert retries == ["exec"] * (len(accepted) - 1)


@pytest.mark.asyncio
async def test_a_requests_own_server_that_cannot_be_reached_reads_like_any_failure(
    silent_server: tuple[str, list[int]],
) -> None:
    host, _accepted = silent_server
    endpoint = Endpoint(host=host, request_timeout=0.2, other_server=True)
    async with ExecClient(endpoint, deadline=time.monotonic()) as exec_client:
        with pytest.raises(ClusterCallFailed, match="did not answer as a Kubernetes API server"):
            async with exec_client.exec_stream(
                "ns", "pod", container="copy", command=["true"], what="exec"
            ):
                pass
