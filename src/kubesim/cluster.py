"""A whole simulated cluster: store, users, faults, TLS, the API server and the kubelet."""

from __future__ import annotations

import importlib
import logging
import socket
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from kubesim import kinds, rbac
from kubesim.auth import ADMIN_TOKEN, AuditRecord, Users
from kubesim.faults import Faults
from kubesim.kinds import Kind
from kubesim.kubeconfig import write_kubeconfig
from kubesim.server import ServerState, build_app
from kubesim.store import Store
from kubesim.tls import generate

log = logging.getLogger(__name__)

_BASE_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Handlers get this long to finish once the server stops; watches are closed before.
_SHUTDOWN_TIMEOUT = 5.0


@dataclass(kw_only=True)
class ClusterOptions:
    state_dir: Path
    openshift: bool = True
    host: str = "127.0.0.1"
    port: int = 0
    plain_http_port: int | None = None
    seed: bool = True
    seed_faults: bool = False  # also kubesim.seed.faults: known faults for archive analysis
    seed_sensitive: bool = False  # also kubesim.seed.sensitive: data redaction must remove
    kubelet: bool = True  # False: an API server only (pods stay Pending)
    faults: list[str] = field(default_factory=list)  # ``--fault`` specs applied at start


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def seed_objects(
    *, openshift: bool, faults: bool = False, sensitive: bool = False
) -> list[tuple[Kind, dict[str, Any]]]:
    """The default objects of ``kubesim.seed``, namespaces first; none if it is missing."""
    try:
        make = importlib.import_module("kubesim.seed").seed_objects
    except (ImportError, AttributeError):
        log.warning("kubesim.seed is missing: the cluster starts without seed objects")
        return []
    objects: list[tuple[Kind, dict[str, Any]]] = make(
        openshift=openshift, faults=faults, sensitive=sensitive
    )
    return sorted(objects, key=lambda pair: pair[0] != kinds.NAMESPACES)


class Cluster:
    """``async with Cluster(options) as cluster``: a started cluster, stopped on exit."""

    def __init__(self, options: ClusterOptions) -> None:
        self.options = options
        self.store = Store()
        self.users = Users(store=self.store)
        self.faults = Faults(store=self.store, users=self.users)
        self.kubelet: Any = None
        self.url = ""
        self.plain_url: str | None = None
        state_dir = options.state_dir
        self.ca_file = state_dir / "tls" / "ca.crt"
        self.kubeconfig_path = state_dir / "kubeconfig"
        self._state = ServerState(
            store=self.store, users=self.users, faults=self.faults, openshift=options.openshift
        )
        self._runner: web.AppRunner | None = None

    @property
    def audit(self) -> list[AuditRecord]:
        return self._state.audit

    @property
    def openshift(self) -> bool:
        return self.options.openshift

    def _load_objects(self) -> None:
        for name in _BASE_NAMESPACES:
            self.store.restore(kinds.NAMESPACES, [{"metadata": {"name": name}}])
        for kind, obj in rbac.bootstrap_objects():
            self.store.restore(kind, [obj])
        if not self.options.seed:
            return
        for kind, obj in seed_objects(
            openshift=self.options.openshift,
            faults=self.options.seed_faults,
            sensitive=self.options.seed_sensitive,
        ):
            if kind.openshift and not self.options.openshift:
                continue
            self.store.restore(kind, [obj])

    def _make_kubelet(self) -> Any:
        try:
            kubelet_module = importlib.import_module("kubesim.kubelet")
            images_module = importlib.import_module("kubesim.images")
            kubelet_class = kubelet_module.Kubelet
        except (ImportError, AttributeError):
            log.warning("kubesim.kubelet is not usable: pods will not run")
            return None
        return kubelet_class(
            store=self.store,
            images=images_module.ImageCatalogue.default(),
            state_dir=self.options.state_dir,
            api_url=self.url,
            ca_file=self.ca_file,
            faults=self.faults,
            token_for_service_account=self.users.token_for_service_account,
        )

    async def start(self) -> None:
        options = self.options
        options.state_dir.mkdir(parents=True, exist_ok=True)
        self._load_objects()
        for spec in options.faults:
            self.faults.apply_spec(spec)
        hosts = sorted({options.host, "127.0.0.1", "localhost"} - {"0.0.0.0", "::", ""})
        tls_files = generate(options.state_dir / "tls", hosts=hosts)
        sock = _bind(options.host, options.port)
        port = sock.getsockname()[1]
        self.url = f"https://{_url_host(options.host)}:{port}"
        self._state.address = f"{_url_host(options.host)}:{port}"
        plain_sock = None
        if options.plain_http_port is not None:
            plain_sock = _bind(options.host, options.plain_http_port)
            self.plain_url = f"http://{_url_host(options.host)}:{plain_sock.getsockname()[1]}"
        if options.kubelet:
            self.kubelet = self._make_kubelet()
        app = build_app(self._state, kubelet=self.kubelet)
        runner = web.AppRunner(
            app,
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
            access_log=None,
        )
        await runner.setup()
        self._runner = runner
        try:
            await web.SockSite(runner, sock, ssl_context=tls_files.server_context()).start()
            if plain_sock is not None:
                await web.SockSite(runner, plain_sock).start()
            if self.kubelet is not None:
                await self.kubelet.start()
            self.write_kubeconfig(self.kubeconfig_path)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        self._state.close_watches()
        kubelet, self.kubelet = self.kubelet, None
        try:
            if kubelet is not None:
                await kubelet.stop()
        finally:
            runner, self._runner = self._runner, None
            if runner is not None:
                await runner.cleanup()

    async def __aenter__(self) -> Cluster:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def write_kubeconfig(self, path: Path, *, token: str = ADMIN_TOKEN) -> Path:
        """A kubeconfig for this cluster (context ``kubesim``) acting with ``token``."""
        return write_kubeconfig(path, server=self.url, ca_file=self.ca_file, token=token)
