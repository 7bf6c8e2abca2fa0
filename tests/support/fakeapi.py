"""A tiny plain-HTTP Kubernetes API over the seed objects, and a runner for image scripts.

The kubesim image tests import ``fake_api`` (a fixture) and ``run_image`` from here: the
scripts run as real processes in a container root built by the kubelet's own code, against
this API.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest_asyncio
from aiohttp import web

from kubesim import kinds
from kubesim.errors import KubesimError
from kubesim.images import Image, ImageCatalogue
from kubesim.kubelet.rootfs import ServiceAccountFiles, build_container_root
from kubesim.seed import LOG_ANNOTATION, log_annotation, seed_objects
from kubesim.store import Store

TOKEN = "sa-token-test-gather"


@dataclass
class FakeApi:
    """Serves GETs of a Store like the API server does, for the objects the scripts read."""

    store: Store
    openshift: bool = True
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    fail_paths: dict[str, int] = field(default_factory=dict)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/{version}", self._discovery_core)
        app.router.add_get("/apis/{group}/{version}", self._discovery)
        app.router.add_get("/{prefix:api|apis}/{rest:.+}", self._resource)
        return app

    def _status(self, code: int, reason: str, message: str) -> web.Response:
        body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason}
        return web.json_response({**body, "message": message, "code": code}, status=code)

    def _check(self, request: web.Request) -> web.Response | None:
        self.requests.append((request.path, dict(request.query)))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._status(401, "Unauthorized", "Unauthorized")
        code = self.fail_paths.get(request.path)
        if code is not None:
            return self._status(code, "InternalError", "injected failure")
        return None

    def _served(self) -> tuple[kinds.Kind, ...]:
        return kinds.served_kinds(openshift=self.openshift)

    async def _discovery_core(self, request: web.Request) -> web.Response:
        return await self._discovery(request)

    async def _discovery(self, request: web.Request) -> web.Response:
        if (denied := self._check(request)) is not None:
            return denied
        group = request.match_info.get("group", "")
        version = request.match_info["version"]
        found = [k for k in self._served() if k.group == group and k.version == version]
        if not found:
            return self._status(404, "NotFound", "the server could not find the requested resource")
        resources = [
            {"name": k.plural, "kind": k.kind, "namespaced": k.namespaced, "verbs": list(k.verbs)}
            for k in found
        ]
        return web.json_response({"kind": "APIResourceList", "resources": resources})

    async def _resource(self, request: web.Request) -> web.StreamResponse:
        if (denied := self._check(request)) is not None:
            return denied
        parts = request.match_info["rest"].split("/")
        if request.match_info["prefix"] == "api":
            group, version, parts = "", parts[0], parts[1:]
        else:
            group, version, parts = parts[0], parts[1], parts[2:]
        namespace = None
        if len(parts) >= 2 and parts[0] == "namespaces" and len(parts) != 2:
            namespace, parts = parts[1], parts[2:]
        kind = kinds.lookup(group, version, parts[0])
        if kind is None or kind not in self._served():
            return self._status(404, "NotFound", "the server could not find the requested resource")
        try:
            if len(parts) == 1:
                items = self.store.list(
                    kind,
                    namespace=namespace,
                    label_selector=request.query.get("labelSelector"),
                )
                return web.json_response({"kind": kind.list_kind, "items": items})
            obj = self.store.get(kind, parts[1], namespace=namespace)
        except KubesimError as e:
            return self._status(404, "NotFound", str(e))
        if len(parts) == 3 and parts[2] == "log":
            return self._log(obj, request.query)
        return web.json_response(obj)

    def _log(self, pod: dict[str, Any], query: Mapping[str, str]) -> web.Response:
        annotations = pod["metadata"].get("annotations") or {}
        container = query.get("container", "")
        text = annotations.get(log_annotation(container), annotations.get(LOG_ANNOTATION, ""))
        cutoff = None
        if "sinceSeconds" in query:
            cutoff = datetime.now(UTC).timestamp() - int(query["sinceSeconds"])
        elif "sinceTime" in query:
            cutoff = datetime.fromisoformat(query["sinceTime"].replace("Z", "+00:00")).timestamp()
        lines = []
        for line in text.splitlines(keepends=True):
            stamp, _, rest = line.partition(" ")
            when = datetime.fromisoformat(stamp[:26].rstrip("Z") + "+00:00").timestamp()
            if cutoff is not None and when < cutoff:
                continue
            lines.append(line if query.get("timestamps") == "true" else rest)
        return web.Response(text="".join(lines), content_type="text/plain")


def seeded_store(*, openshift: bool = True) -> Store:
    store = Store()
    for kind, obj in seed_objects(openshift=openshift):
        store.restore(kind, [obj])
    return store


@dataclass
class Served:
    api: FakeApi
    port: int


@pytest_asyncio.fixture
async def fake_api() -> AsyncIterator[Served]:
    api = FakeApi(seeded_store())
    runner = web.AppRunner(api.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield Served(api, port)
    finally:
        await runner.cleanup()


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str
    out: Path  # the must-gather volume


def image_for(reference: str) -> Image:
    image = ImageCatalogue.default().resolve(reference)
    assert image is not None, reference
    return image


async def run_image(
    tmp_path: Path,
    reference: str,
    command: str,
    *,
    port: int,
    env: Mapping[str, str] | None = None,
    timeout: float = 30,
) -> Ran:
    """Runs ``command`` of an image as the kubelet would, with /must-gather as a volume."""
    image = image_for(reference)
    volume = tmp_path / "volume"
    volume.mkdir(exist_ok=True)
    root = tmp_path / "root"
    account = ServiceAccountFiles(token=TOKEN, ca_crt=b"", namespace="openshift-must-gather-x")
    await asyncio.to_thread(
        build_container_root,
        root,
        image_root=image.root,
        mounts={"/must-gather": volume},
        service_account=account,
    )
    full_env = {
        "PATH": f"{root}/usr/bin:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(root / "root"),
        "KUBESIM_ROOT": str(root),
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(port),
        "KUBESIM_API_SCHEME": "http",
        **(env or {}),
    }
    # Executed through its shebang, as the kubelet does: the host's python3 runs it.
    proc = await asyncio.create_subprocess_exec(
        str(root / command.lstrip("/")),
        cwd=root,
        env=full_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return Ran(proc.returncode, stdout.decode(), stderr.decode(), volume)


# -- the fake itself ----------------------------------------------------------------------------
