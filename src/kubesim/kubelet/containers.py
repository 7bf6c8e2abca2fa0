"""One container's lifecycle: pull, create, start, run, and restart per the pod's policy."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kubesim.images import Image
from kubesim.kubelet import pulling
from kubesim.kubelet.context import KubeletContext
from kubesim.kubelet.environment import container_env, expand
from kubesim.kubelet.logs import LogWriter
from kubesim.kubelet.paths import Mount, PathMap
from kubesim.kubelet.processes import ContainerRun, StartError
from kubesim.kubelet.rootfs import PodDirs, ServiceAccountFiles, build_container_root
from kubesim.kubelet.status import ContainerStatus


class PodOwner(Protocol):
    """The pod worker as its containers see it."""

    ctx: KubeletContext
    dirs: PodDirs
    volumes: dict[str, Path]
    stopping: asyncio.Event
    node_name: str

    @property
    def pod(self) -> dict[str, Any]: ...
    def publish(self) -> None: ...
    def event(
        self, reason: str, message: str, *, warning: bool = False, container: str | None = None
    ) -> None: ...
    def lookup(self, kind: str, name: str) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True)
class ExecTarget:
    """Where and how an exec session runs in a running container."""

    path_map: PathMap
    env: dict[str, str]
    cwd: Path


class ContainerRunner:
    def __init__(self, owner: PodOwner, spec: Mapping[str, Any], *, init: bool = False) -> None:
        self.owner = owner
        self.spec = spec
        self.name = str(spec["name"])
        self.init = init
        self.status = ContainerStatus(self.name, str(spec.get("image", "")))
        self.run_: ContainerRun | None = None
        self.target: ExecTarget | None = None
        self.log_writer: LogWriter | None = None

    @property
    def marker(self) -> str:
        return f"{self.owner.pod['metadata']['uid']}.{self.name}"

    async def run(self) -> None:
        """Runs the container until it is done for good or the pod is stopping."""
        owner = self.owner
        timings = owner.ctx.timings
        backoff = timings.restart_backoff_seconds
        while not owner.stopping.is_set():
            image = await self._pull()
            if image is None:
                return
            code = await self._run_once(image)
            if owner.stopping.is_set() or not self._restarts(code):
                return
            self.status.restart()
            pod_meta = owner.pod["metadata"]
            self.status.set_waiting(
                "CrashLoopBackOff",
                f"back-off {backoff:g}s restarting failed container={self.name} "
                f"pod={pod_meta['name']}_{pod_meta.get('namespace')}({pod_meta['uid']})",
            )
            owner.event(
                "BackOff",
                f"Back-off restarting failed container {self.name} in pod "
                f"{pod_meta['name']}_{pod_meta.get('namespace')}({pod_meta['uid']})",
                warning=True,
                container=self.name,
            )
            owner.publish()
            await self._sleep(backoff)
            backoff = min(backoff * 2, timings.restart_backoff_max_seconds)

    def _restarts(self, code: int) -> bool:
        policy = self.owner.pod["spec"].get("restartPolicy", "Always")
        if policy == "Always" and not self.init:
            return True
        return policy in ("Always", "OnFailure") and code != 0

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.owner.stopping.wait(), seconds)

    async def _pull(self) -> Image | None:
        owner = self.owner
        ctx = owner.ctx
        image_ref = self.status.image
        policy = pulling.pull_policy(image_ref, self.spec.get("imagePullPolicy"))
        backoff = ctx.timings.pull_backoff_seconds
        while not owner.stopping.is_set():
            try:
                full = pulling.full_reference(image_ref)
            except ValueError:
                result = pulling.pull(ctx.images, image_ref)
                self.status.set_waiting(result.reason, result.message)
                owner.event("InspectFailed", result.message, warning=True, container=self.name)
                owner.event("Failed", f"Error: {result.reason}", warning=True, container=self.name)
                owner.publish()
                await owner.stopping.wait()
                return None
            present = (owner.node_name, full) in ctx.pulled
            if present and policy != "Always":
                resolved = ctx.images.resolve(image_ref)
                if resolved is not None:
                    owner.event(
                        "Pulled",
                        f'Container image "{image_ref}" already present on machine',
                        container=self.name,
                    )
                    self.status.image_id = resolved.image_id
                    return resolved
            if policy == "Never":
                message = f'Container image "{image_ref}" is not present with pull policy of Never'
                self.status.set_waiting("ErrImageNeverPull", message)
                owner.event("ErrImageNeverPull", message, warning=True, container=self.name)
                owner.publish()
                await owner.stopping.wait()
                return None
            owner.event("Pulling", f'Pulling image "{image_ref}"', container=self.name)
            started = time.monotonic()
            result = pulling.pull(ctx.images, image_ref)
            if result.image is not None:
                took = f"{(time.monotonic() - started) * 1000:.0f}ms"
                owner.event(
                    "Pulled",
                    f'Successfully pulled image "{image_ref}" in {took} ({took} including '
                    "waiting). Image size: 0 bytes.",
                    container=self.name,
                )
                ctx.pulled.add((owner.node_name, full))
                self.status.image_id = result.image.image_id
                return result.image
            owner.event(
                "Failed",
                f'Failed to pull image "{image_ref}": {result.message}',
                warning=True,
                container=self.name,
            )
            owner.event("Failed", f"Error: {result.reason}", warning=True, container=self.name)
            self.status.set_waiting(result.reason, result.message)
            owner.publish()
            await self._sleep(ctx.timings.pull_error_seconds)
            if owner.stopping.is_set():
                return None
            self.status.set_waiting(
                pulling.IMAGE_PULL_BACKOFF, pulling.backoff_message(image_ref, result)
            )
            owner.event("BackOff", f'Back-off pulling image "{image_ref}"', container=self.name)
            owner.event(
                "Failed", f"Error: {pulling.IMAGE_PULL_BACKOFF}", warning=True, container=self.name
            )
            owner.publish()
            await self._sleep(backoff)
            backoff = min(backoff * 2, ctx.timings.pull_backoff_max_seconds)
        return None

    def _mounts(self) -> list[Mount]:
        mounts = []
        for vm in self.spec.get("volumeMounts") or []:
            host = self.owner.volumes.get(str(vm.get("name", "")))
            if host is None or not vm.get("mountPath"):
                continue
            sub = str(vm.get("subPath") or "").strip("/")
            if sub:
                host = host / sub
                host.mkdir(parents=True, exist_ok=True)
            mounts.append(Mount(str(vm["mountPath"]), host, bool(vm.get("readOnly"))))
        return mounts

    def _service_account(self) -> ServiceAccountFiles | None:
        pod = self.owner.pod
        spec = pod["spec"]
        if spec.get("automountServiceAccountToken") is False:
            return None
        namespace = str(pod["metadata"].get("namespace", "default"))
        account = str(spec.get("serviceAccountName") or "default")
        try:
            token = self.owner.ctx.token_for_service_account(namespace, account)
        except Exception:
            token = ""
        return ServiceAccountFiles(token, self.owner.ctx.ca_crt, namespace)

    async def _prepare(self, image: Image) -> tuple[list[str], ExecTarget]:
        owner = self.owner
        root = owner.dirs.container_root(self.name)
        mounts = self._mounts()
        await asyncio.to_thread(
            build_container_root,
            root,
            image_root=image.root,
            mounts={m.container_path: m.host_path for m in mounts},
            service_account=self._service_account(),
        )
        path_map = PathMap(root, mounts)
        env = container_env(
            owner.pod,
            self.spec,
            path_map=path_map,
            api_url=owner.ctx.api_url,
            marker=self.marker,
            config_map=lambda n: owner.lookup("configmaps", n),
            secret=lambda n: owner.lookup("secrets", n),
        )
        command = [str(a) for a in self.spec.get("command") or []]
        args = [str(a) for a in self.spec.get("args") or []]
        argv = [expand(a, env) for a in (command or list(image.entrypoint)) + args]
        cwd = path_map.working_dir(self.spec.get("workingDir"))
        if str(cwd).startswith(str(root)):
            await asyncio.to_thread(cwd.mkdir, parents=True, exist_ok=True)
        return path_map.map_argv(argv), ExecTarget(path_map, env, cwd)

    async def _run_once(self, image: Image) -> int:
        owner = self.owner
        status = self.status
        try:
            argv, target = await self._prepare(image)
        except OSError as e:
            status.set_waiting("CreateContainerError", f"failed to create container: {e}")
            owner.event("Failed", f"Error: {e}", warning=True, container=self.name)
            owner.publish()
            return 128
        if owner.stopping.is_set():
            return 128  # the pod went away while its container was being created
        if not argv:
            message = "failed to generate container spec: no command specified"
            status.set_waiting("CreateContainerError", message)
            owner.event("Failed", f"Error: {message}", warning=True, container=self.name)
            owner.publish()
            return 128
        self.log_writer = LogWriter(owner.dirs.log_file(self.name, status.restart_count))
        container_id = f"containerd://{secrets.token_hex(32)}"
        owner.event("Created", f"Created container {self.name}", container=self.name)
        run = ContainerRun(marker=self.marker, log_writer=self.log_writer)
        try:
            await run.start(argv, cwd=target.cwd, env=target.env)
        except StartError as e:
            self.log_writer.close()
            message = (
                "failed to create containerd task: failed to create shim task: OCI runtime "
                "create failed: runc create failed: unable to start container process: error "
                f"during container init: {e}"
            )
            status.container_id = container_id
            status.set_terminated(128, reason="StartError", message=message)
            owner.event("Failed", f"Error: {message}", warning=True, container=self.name)
            owner.publish()
            return 128
        self.run_ = run
        self.target = target
        if owner.stopping.is_set():
            # Stopped while the process started: nobody else will kill it.
            await run.terminate(0)
        status.set_running(container_id)
        owner.event("Started", f"Started container {self.name}", container=self.name)
        owner.publish()
        code = await run.wait()
        self.target = None
        status.set_terminated(code)
        self.run_ = None
        owner.publish()
        return code

    @property
    def running(self) -> bool:
        """Whether a process of this container runs now."""
        return self.run_ is not None

    async def stop(self, grace_seconds: float) -> None:
        run = self.run_
        if run is not None:
            self.owner.event("Killing", f"Stopping container {self.name}", container=self.name)
            await run.terminate(grace_seconds)
