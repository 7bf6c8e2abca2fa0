"""`must-gather-api demo`: the service against kubesim, the simulated cluster, on this machine.

The service runs as it would in a cluster: its own service account (with
system:auth-delegator, nothing more) reviews callers' tokens, and gatherings run with
the caller's token. Everything lives in one state directory and stops on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path

import uvicorn

from kubesim import kinds
from kubesim.auth import ADMIN_TOKEN, USER_TOKEN
from kubesim.cluster import Cluster, ClusterOptions
from must_gather_api.app import create_app
from must_gather_api.settings import Settings, load_settings

SERVICE_NAMESPACE = "must-gather-api"
SERVICE_ACCOUNT = "must-gather-api"


def provision_service_account(cluster: Cluster, directory: Path) -> Path:
    """The service's identity in the cluster, as deploy/ gives it; returns its kubeconfig."""
    cluster.store.create(kinds.NAMESPACES, {"metadata": {"name": SERVICE_NAMESPACE}})
    cluster.store.create(
        kinds.SERVICE_ACCOUNTS,
        {"metadata": {"name": SERVICE_ACCOUNT, "namespace": SERVICE_NAMESPACE}},
    )
    cluster.store.create(
        kinds.CLUSTER_ROLE_BINDINGS,
        {
            "metadata": {"name": "must-gather-api-auth-delegator"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:auth-delegator",
            },
            "subjects": [
                {
                    "kind": "ServiceAccount",
                    "name": SERVICE_ACCOUNT,
                    "namespace": SERVICE_NAMESPACE,
                }
            ],
        },
    )
    token = cluster.users.token_for_service_account(SERVICE_NAMESPACE, SERVICE_ACCOUNT)
    return cluster.write_kubeconfig(directory / "service.kubeconfig", token=token)


def demo_settings(state: Path, service_kubeconfig: Path, *, port: int) -> Settings:
    """The environment's settings, with the cluster, store and address of the demo."""
    environ = dict(os.environ)
    environ.update(
        {
            "USE_KUBECONFIG": "true",
            "KUBECONFIG": str(service_kubeconfig),
            "DB_PATH": str(state / "gatherings.db"),
            "DATA_DIR": str(state / "data"),
            "HOST": "127.0.0.1",
            "PORT": str(port),
        }
    )
    environ.pop("DATABASE_URL", None)
    environ.pop("API_TLS_CERTIFICATE", None)
    environ.pop("API_TLS_KEY", None)
    return load_settings(environ)


def banner(cluster: Cluster, settings: Settings, state: Path) -> str:
    host, port = settings.listen_address()
    url = f"http://{host}:{port}"
    auth = f'-H "Authorization: Bearer {ADMIN_TOKEN}"'
    targeted = json.dumps(
        {
            "custom-name": "plan:prod-cold-migration",
            "command": "PLAN=prod-cold-migration /usr/bin/targeted",
        }
    )
    return f"""
must-gather-api demo
  service:    {url}   (API docs: {url}/docs)
  cluster:    kubesim at {cluster.url}
              export KUBECONFIG={cluster.kubeconfig_path}   # then kubectl get pods -A -w
  tokens:     {ADMIN_TOKEN} (cluster-admin: may use the API), {USER_TOKEN} (may not: 403)
  state:      {state}

Try, in another terminal:
  # a full gathering with OpenShift's default image (the simulated one)
  curl -s {auth} -H "Content-Type: application/json" \\
       -d '{{"image": "quay.io/openshift/origin-must-gather", "timeout": "5m"}}' {url}/must-gather
  # a targeted Forklift gathering, as the console asks for it
  curl -s {auth} -H "Content-Type: application/json" \\
       -d '{targeted}' {url}/must-gather
  curl -s {auth} {url}/must-gather/1               # poll until "status": "completed"
  curl -s {auth} {url}/must-gather/1/logs          # the whole output
  curl -s {auth} -OJ {url}/must-gather/1/data      # saves must-gather.tar.gz here
  curl -s {auth} {url}/must-gather                 # the list

Stop with Ctrl-C.
"""


async def run(*, port: int, state_dir: Path | None, openshift: bool) -> None:
    state = state_dir or Path(tempfile.mkdtemp(prefix="must-gather-api-demo-"))
    state.mkdir(parents=True, exist_ok=True)
    # Nodes with DNS names and MACs, logs with addresses: what `"redact": true` removes.
    options = ClusterOptions(state_dir=state / "kubesim", openshift=openshift, seed_sensitive=True)
    async with Cluster(options) as cluster:
        service_kubeconfig = provision_service_account(cluster, state)
        settings = demo_settings(state, service_kubeconfig, port=port)
        host, bound_port = settings.listen_address()
        config = uvicorn.Config(
            create_app(settings), host=host, port=bound_port, log_level="warning", lifespan="on"
        )
        server = uvicorn.Server(config)
        # uvicorn handles SIGINT/SIGTERM itself; the banner comes once it listens.
        serving = asyncio.create_task(server.serve(), name="demo-service")
        # uvicorn offers only a `started` flag, no event to await.
        while not server.started and not serving.done():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if server.started:
            print(banner(cluster, settings, state), flush=True)  # noqa: T201
        await serving
