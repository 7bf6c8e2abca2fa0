"""`must-gather-api demo`: the service against kubesim, the simulated cluster, on this machine.

The service runs as it would in a cluster: its own service account (with
system:auth-delegator, nothing more) reviews callers' tokens, and gatherings run with
the caller's token. Everything lives in one state directory and stops on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

import uvicorn

from kubesim import kinds, tls
from kubesim.auth import ADMIN_TOKEN, USER_TOKEN
from kubesim.cluster import Cluster, ClusterOptions
from must_gather_api.app import create_app
from must_gather_api.cli import demo_cores
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
    # deploy/base/namespace-reader.yaml: enough to tell which recorded namespaces remain.
    cluster.store.create(
        kinds.CLUSTER_ROLES,
        {
            "metadata": {"name": "must-gather-api-namespace-reader"},
            "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}],
        },
    )
    cluster.store.create(
        kinds.CLUSTER_ROLE_BINDINGS,
        {
            "metadata": {"name": "must-gather-api-namespace-reader"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "must-gather-api-namespace-reader",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": SERVICE_NAMESPACE}
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
    # The node pods run where deploy/cores puts them (demo_cores gives the account its roles);
    # the simulated NotReady node answers nothing, so it is not waited for long.
    environ["CORES_POD_NAMESPACE"] = demo_cores.NODE_NAMESPACE
    environ.setdefault("CORES_NODE_TIMEOUT", "5s")
    environ.pop("DATABASE_URL", None)
    environ.pop("API_TLS_CERTIFICATE", None)
    environ.pop("API_TLS_KEY", None)
    return load_settings(environ)


def banner(
    cluster: Cluster,
    settings: Settings,
    state: Path,
    *,
    tls_port: int,
    crashed: demo_cores.Crashed | None = None,
) -> str:
    host, port = settings.listen_address()
    url = f"http://{host}:{port}"
    secure = f"https://{host}:{tls_port}"
    ca = state / "tls" / "ca.crt"
    auth = f'-H "Authorization: Bearer {ADMIN_TOKEN}"'
    cores = demo_cores.instructions(crashed, url=url, token=ADMIN_TOKEN) if crashed else ""
    targeted = json.dumps(
        {
            "custom-name": "plan:prod-cold-migration",
            "command": "PLAN=prod-cold-migration /usr/bin/targeted",
        }
    )
    return f"""
must-gather-api demo
  service:    {url}   (API docs: {url}/docs)
  web page:   {url}/ui/   (sign in with {ADMIN_TOKEN})
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
  curl -s {auth} "{url}/must-gather/1/files?prefix=must-gather/&limit=20"   # its files
  curl -s {auth} {url}/must-gather/1/summary       # what is wrong in the cluster
  must-gather-api summary 1 --server {url} --token {ADMIN_TOKEN}
  # the archive as a read-only cluster (over HTTPS: kubectl sends no token over HTTP)
  export MUST_GATHER_API_URL={secure} MUST_GATHER_API_TOKEN={ADMIN_TOKEN} \\
         MUST_GATHER_API_CA_FILE={ca}
  must-gather-api kubeconfig 1 > g1.kubeconfig    # a file: kubectl reads it twice
  kubectl --kubeconfig g1.kubeconfig get pods -A
{cores}
Stop with Ctrl-C.
"""


async def _serve_quietly(server: uvicorn.Server) -> None:
    # uvicorn exits the process (SystemExit) when it cannot bind: here, only HTTPS is lost.
    with contextlib.suppress(SystemExit):
        await server.serve()


async def run(*, port: int, tls_port: int, state_dir: Path | None, openshift: bool) -> None:
    state = state_dir or Path(tempfile.mkdtemp(prefix="must-gather-api-demo-"))
    state.mkdir(parents=True, exist_ok=True)
    # The known faults too, so that a gathering's summary has something to say; nodes with DNS
    # names and MACs and logs with addresses: what `"redact": true` removes.
    options = ClusterOptions(
        state_dir=state / "kubesim", openshift=openshift, seed_faults=openshift, seed_sensitive=True
    )
    async with Cluster(options) as cluster:
        service_kubeconfig = provision_service_account(cluster, state)
        demo_cores.provision_node_side(cluster)
        crashed = await demo_cores.crash_a_workload(cluster)
        settings = demo_settings(state, service_kubeconfig, port=port)
        host, bound_port = settings.listen_address()
        app = create_app(settings)
        server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=bound_port, log_level="warning", lifespan="on")
        )
        # uvicorn handles SIGINT/SIGTERM itself; the banner comes once it listens.
        serving = asyncio.create_task(server.serve(), name="demo-service")
        # uvicorn offers only a `started` flag, no event to await.
        while not server.started and not serving.done():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        secure: asyncio.Task[None] | None = None
        if server.started and tls_port:
            # The same application (its lifespan runs once, above) over HTTPS as well.
            files = tls.generate(state / "tls", hosts=[host])
            secure_server = uvicorn.Server(
                uvicorn.Config(
                    app,
                    host=host,
                    port=tls_port,
                    log_level="warning",
                    lifespan="off",
                    ssl_certfile=str(files.cert_file),
                    ssl_keyfile=str(files.key_file),
                )
            )
            secure = asyncio.create_task(_serve_quietly(secure_server), name="demo-service-tls")
            while not secure_server.started and not secure.done():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            if not secure_server.started:
                sys.stderr.write(f"demo: no HTTPS on port {tls_port} (in use?); HTTP only\n")
        if server.started:
            shown = banner(cluster, settings, state, tls_port=tls_port, crashed=crashed)
            print(shown, flush=True)  # noqa: T201
        await serving
        if secure is not None:
            await secure
