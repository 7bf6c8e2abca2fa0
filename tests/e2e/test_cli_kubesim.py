"""The client against the service as the demo runs it: tokens checked by kubesim, and (last
two tests) gatherings carried out by the native executor in kubesim.

The service's own identity is a service account with system:auth-delegator only; the
client finds its token as `oc` users have it, in the current kubeconfig context.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import tarfile
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from kubesim import kinds
from kubesim.auth import ADMIN_TOKEN, USER_TOKEN
from kubesim.cluster import Cluster
from must_gather_api.auth.kubernetes import KubernetesAuthenticator
from must_gather_api.executors.base import Executor
from support.executors import FakeExecutor
from support.native import FORKLIFT, ORIGIN, executor_for, leftovers
from support.service import make_settings, served_app

pytestmark = pytest.mark.asyncio

CLI = [sys.executable, "-m", "must_gather_api"]
SERVICE_NS = "must-gather-api"
Serve = Callable[..., AbstractAsyncContextManager[str]]


def service_kubeconfig(cluster: Cluster, tmp_path: Path) -> Path:
    cluster.store.create(kinds.NAMESPACES, {"metadata": {"name": SERVICE_NS}})
    cluster.store.create(
        kinds.SERVICE_ACCOUNTS, {"metadata": {"name": "must-gather-api", "namespace": SERVICE_NS}}
    )
    cluster.store.create(
        kinds.CLUSTER_ROLE_BINDINGS,
        {
            "metadata": {"name": "service-auth-delegator"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:auth-delegator",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": "must-gather-api", "namespace": SERVICE_NS}
            ],
        },
    )
    token = cluster.users.token_for_service_account(SERVICE_NS, "must-gather-api")
    return cluster.write_kubeconfig(tmp_path / "service.kubeconfig", token=token)


@pytest_asyncio.fixture
async def serve(kubesim: Cluster, tmp_path: Path) -> AsyncIterator[Serve]:
    kubeconfig = service_kubeconfig(kubesim, tmp_path)

    @asynccontextmanager
    async def start(executor: Executor) -> AsyncIterator[str]:
        settings = make_settings(
            tmp_path, auth="kubernetes", use_kubeconfig="true", kubeconfig=str(kubeconfig)
        )
        authenticator = await KubernetesAuthenticator.create(settings)
        async with served_app(settings, executor=executor, authenticator=authenticator) as url:
            yield url

    yield start


async def cli(url: str, home: Path, *args: str, **environment: str) -> tuple[int, str, str]:
    """The client with a fresh HOME; its kubeconfig, if any, is HOME/.kube/config."""
    process = await asyncio.create_subprocess_exec(
        *CLI,
        *args,
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            "MUST_GATHER_API_URL": url,
            **environment,
        },
        cwd=home,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(100):
        out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


def logged_in(cluster: Cluster, home: Path, *, token: str = ADMIN_TOKEN) -> Path:
    """HOME after `oc login`: the current context's user holds the token."""
    cluster.write_kubeconfig(home / ".kube" / "config", token=token)
    return home


async def test_tokens_from_each_place_and_each_refusal(
    kubesim: Cluster, serve: Serve, tmp_path: Path
) -> None:
    async with serve(FakeExecutor()) as url:
        nobody = tmp_path / "nobody"
        nobody.mkdir()
        code, _out, err = await cli(url, nobody, "list")
        assert code == 3
        assert err == (
            "must-gather-api: error: the server needs a token: give --token, set "
            "MUST_GATHER_API_TOKEN, or log in to the cluster (oc login)\n"
        )

        admin = logged_in(kubesim, tmp_path / "admin")
        code, out, err = await cli(url, admin, "run", "--wait", "--output", "json")
        assert code == 0, err
        assert json.loads(out)["requested-by"] == "kube:admin"

        code, _out, err = await cli(url, admin, "list", MUST_GATHER_API_TOKEN=USER_TOKEN)
        assert code == 3
        assert "the token from MUST_GATHER_API_TOKEN is not allowed to use the service" in err
        assert USER_TOKEN not in err

        code, _out, err = await cli(url, admin, "get", "1", "--token", "stolen-and-expired")
        assert code == 3
        assert "the server refused the token from --token" in err
        assert "stolen-and-expired" not in err

        user = logged_in(kubesim, tmp_path / "user", token=USER_TOKEN)
        code, _out, err = await cli(url, user, "download", "1")
        assert code == 3 and "kubeconfig context 'kubesim'" in err


@pytest.mark.timeout(150)
async def test_run_wait_download_with_the_default_image(
    kubesim: Cluster, serve: Serve, tmp_path: Path
) -> None:
    executor = await executor_for(kubesim, tmp_path / "executor")
    home = logged_in(kubesim, tmp_path / "home")
    async with serve(executor) as url:
        code, out, err = await cli(url, home, "run", "--wait", "--download", "--image", ORIGIN)
        assert code == 0, f"{out}\n{err}"
        assert "Using must-gather plug-in image: quay.io/openshift/origin-must-gather" in out
        assert "gathering 1 completed" in out
        code, described, err = await cli(url, home, "get", "1", "--output", "json")
        gathering: dict[str, Any] = json.loads(described)
    archive = home / gathering["archive-name"]
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == gathering["archive-sha256"]
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert any(name.endswith("cluster-scoped-resources/core/nodes/master-0.yaml") for name in names)
    assert leftovers(kubesim) == []


@pytest.mark.timeout(150)
async def test_run_wait_download_with_the_forklift_targeted_command(
    kubesim: Cluster, serve: Serve, tmp_path: Path
) -> None:
    executor = await executor_for(kubesim, tmp_path / "executor")
    home = logged_in(kubesim, tmp_path / "home")
    async with serve(executor) as url:
        code, out, err = await cli(
            url, home, "run", "--wait", "-o", "plan.tar.gz", "--image", FORKLIFT,
            "--name", "plan:prod-cold-migration",
            "--", "PLAN=prod-cold-migration", "NS=openshift-mtv", "/usr/bin/targeted",
        )  # fmt: skip
        assert code == 0, f"{out}\n{err}"
        assert "Waiting for copy phase..." in out
        code, described, err = await cli(
            url, home, "get", "plan:prod-cold-migration", "--output", "json"
        )
        gathering: dict[str, Any] = json.loads(described)
    assert gathering["command"] == "PLAN=prod-cold-migration NS=openshift-mtv /usr/bin/targeted"
    archive = home / "plan.tar.gz"
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == gathering["archive-sha256"]
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "must-gather/namespaces/openshift-mtv/crs/plan/prod-cold-migration.yaml" in names
    assert leftovers(kubesim) == []
