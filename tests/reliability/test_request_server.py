"""A request's `server` never receives the service's own credentials.

A TLS API server on loopback records every Authorization header it is sent. It is listed in
ALLOWED_SERVERS with its own CA, and a gathering is asked for against it: only the caller's
token ever arrives there. Unlisted servers, non-admin callers and service credentials are
refused before anything is sent, and a server that cannot be reached reads the same
whatever is (or is not) listening on its port.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from kubesim.auth import ADMIN_TOKEN
from kubesim.cluster import Cluster
from must_gather_api.auth.kubernetes import KubernetesAuthenticator
from must_gather_api.cli.demo import provision_service_account
from must_gather_api.executors.kubernetes import KubernetesExecutor
from must_gather_api.kube.access import ClusterAccess
from support.certificates import write_self_signed
from support.native import FAST
from support.service import free_port, make_settings, running_app
from support.users import allow_users, as_user

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(120)]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@asynccontextmanager
async def recording_server(
    cert: Path, key: Path, seen: list[str], *, tls: bool = True
) -> AsyncIterator[int]:
    """An API server that refuses everything (403 Status) and notes each Authorization."""

    async def refuse(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.json_response(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "reason": "Forbidden",
                "message": "forbidden",
                "code": 403,
            },
            status=403,
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    context = None
    if tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=context)
    await site.start()
    try:
        yield port
    finally:
        await runner.cleanup()


async def ended(client: Any, gathering_id: int) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            record: dict[str, Any] = (
                await client.get(f"/must-gather/{gathering_id}", headers=ADMIN)
            ).json()
            if record["status"] in ("completed", "error"):
                return record
            await asyncio.sleep(0.1)  # polling, as a client does


def provision(cluster: Cluster, tmp_path: Path) -> Path:
    allow_users(cluster)
    return provision_service_account(cluster, tmp_path)


@asynccontextmanager
async def service(kubeconfig: Path, tmp_path: Path, **overrides: Any) -> AsyncIterator[Any]:
    settings = make_settings(
        tmp_path,
        auth="kubernetes",
        use_kubeconfig="true",
        kubeconfig=str(kubeconfig),
        cluster_request_timeout="5s",
        gather_timeout_margin="4s",
        **overrides,
    )
    access = await ClusterAccess.load(settings)
    executor = KubernetesExecutor(access, settings, timings=FAST)
    authenticator = await KubernetesAuthenticator.create(settings)
    async with running_app(settings, executor=executor, authenticator=authenticator) as (_, c):
        yield c


async def test_only_the_callers_token_reaches_a_listed_server(
    kubesim: Cluster, tmp_path: Path
) -> None:
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    write_self_signed(cert, key, common_name="elsewhere")
    seen: list[str] = []
    async with recording_server(cert, key, seen) as port:
        address = f"https://127.0.0.1:{port}"
        async with service(
            provision(kubesim, tmp_path),
            tmp_path,
            gather_credentials="caller",
            allowed_servers=address,
            server_ca_file=str(cert),
        ) as client:
            response = await client.post(
                "/must-gather", headers=ADMIN, json={"server": address, "timeout": "20s"}
            )
            assert response.status_code == 201, response.text
            record = await ended(client, response.json()["id"])
    assert record["status"] == "error"
    assert seen, "the gathering never reached the listed server"
    service_token = kubesim.users.token_for_service_account("must-gather-api", "must-gather-api")
    assert set(seen) == {f"Bearer {ADMIN_TOKEN}"}
    assert all(service_token not in header for header in seen)


async def test_server_is_refused_unless_listed_admin_and_caller_credentials(
    kubesim: Cluster, tmp_path: Path
) -> None:
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    write_self_signed(cert, key)
    seen: list[str] = []
    kubeconfig = provision(kubesim, tmp_path)
    async with recording_server(cert, key, seen) as port:
        listed = f"https://127.0.0.1:{port}"
        cases = [
            ({"gather_credentials": "caller"}, ADMIN, "is not in ALLOWED_SERVERS"),
            (
                {"gather_credentials": "service", "allowed_servers": listed},
                ADMIN,
                "never sent to another API server",
            ),
            (
                {
                    "gather_credentials": "caller",
                    "allowed_servers": listed,
                    "auth_verb": "get",
                    "auth_group": "",
                    "auth_resource": "namespaces",
                    "auth_namespace": "",
                },
                as_user("alice"),
                "only callers with the admin permission",
            ),
        ]
        for number, (overrides, headers, why) in enumerate(cases):
            directory = tmp_path / str(number)
            directory.mkdir()
            async with service(
                kubeconfig,
                directory,
                server_ca_file=str(cert),
                **overrides,
            ) as client:
                response = await client.post(
                    "/must-gather", headers=headers, json={"server": listed}
                )
                assert response.status_code == 403, response.text
                assert response.json()["detail"].startswith("server:")
                assert why in response.json()["detail"]
    assert seen == []


async def test_an_unreachable_server_reads_the_same_whatever_listens(
    kubesim: Cluster, tmp_path: Path
) -> None:
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    write_self_signed(cert, key)
    other_cert, other_key = tmp_path / "other.crt", tmp_path / "other.key"
    write_self_signed(other_cert, other_key, common_name="other")
    closed = free_port()
    seen: list[str] = []
    async with (
        recording_server(cert, key, seen, tls=False) as plain,
        recording_server(other_cert, other_key, seen) as untrusted,
    ):
        servers = [f"https://127.0.0.1:{port}" for port in (closed, plain, untrusted)]
        async with service(
            provision(kubesim, tmp_path),
            tmp_path,
            gather_credentials="caller",
            allowed_servers=",".join(servers),
            server_ca_file=str(cert),
        ) as client:
            reasons = []
            for server in servers:
                response = await client.post(
                    "/must-gather", headers=ADMIN, json={"server": server, "timeout": "2s"}
                )
                assert response.status_code == 201, response.text
                record = await ended(client, response.json()["id"])
                assert record["status"] == "error"
                reasons.append(record["error-reason"])
    assert len(set(reasons)) == 1, reasons
    assert "SERVER_CA_FILE" in reasons[0]
    assert seen == []
