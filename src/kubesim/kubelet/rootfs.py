"""Per-pod directories: volumes, container roots and log files.

Layout under ``<state_dir>/kubelet/pods/<namespace>_<name>_<uid>/``:

- ``volumes/<volume>/``: an emptyDir (shared by every container that mounts it) or the files
  of a configMap/secret volume;
- ``containers/<container>/root/``: the container root, a tree of symlinks into the image
  directory (cheap to build, however large the image), with real directories only where
  something must be written or mounted: ``tmp``, ``root`` (HOME), the service-account
  directory and the parents of mount points; each mount point is a symlink to its volume;
- ``logs/<container>/<restartCount>.log``: CRI-format log files.
"""

from __future__ import annotations

import base64
import os
import posixpath
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
# Directories a process expects to be able to write to, private to each container.
_PRIVATE_DIRS = ("/tmp", "/root")  # noqa: S108 - container paths, not host ones


@dataclass(frozen=True)
class ServiceAccountFiles:
    token: str
    ca_crt: bytes
    namespace: str


@dataclass(frozen=True)
class PodDirs:
    base: Path

    @classmethod
    def for_pod(cls, state_dir: Path, pod: Mapping[str, Any]) -> PodDirs:
        meta = pod["metadata"]
        name = f"{meta.get('namespace', 'default')}_{meta['name']}_{meta['uid']}"
        return cls(state_dir / "kubelet" / "pods" / name)

    def volume(self, name: str) -> Path:
        return self.base / "volumes" / name

    def container_root(self, container: str) -> Path:
        return self.base / "containers" / container / "root"

    def log_file(self, container: str, restart_count: int) -> Path:
        return self.base / "logs" / container / f"{restart_count}.log"


def prepare_volumes(
    dirs: PodDirs,
    volumes: Iterable[Mapping[str, Any]],
    *,
    config_maps: Mapping[str, Mapping[str, Any]],
    secrets: Mapping[str, Mapping[str, Any]],
    node_root: Path,
) -> dict[str, Path]:
    """Creates each volume's directory; returns volume name -> host directory.

    A hostPath volume is the node's own directory: ``node_root`` stands for the node's
    filesystem (``<state_dir>/nodes/<node>/``), so two nodes never share one.
    """
    paths: dict[str, Path] = {}
    for volume in volumes:
        name = str(volume.get("name", ""))
        if not name:
            continue
        host_path = volume.get("hostPath")
        if isinstance(host_path, dict) and host_path.get("path"):
            on_node = node_root / posixpath.normpath("/" + str(host_path["path"])).lstrip("/")
            on_node.mkdir(parents=True, exist_ok=True)  # as DirectoryOrCreate
            paths[name] = on_node
            continue
        target = dirs.volume(name)
        target.mkdir(parents=True, exist_ok=True)
        if isinstance(volume.get("configMap"), dict):
            cm = config_maps.get(str(volume["configMap"].get("name", "")), {})
            files = {k: str(v).encode() for k, v in (cm.get("data") or {}).items()}
            files.update({k: base64.b64decode(v) for k, v in (cm.get("binaryData") or {}).items()})
            _write_items(target, files, volume["configMap"].get("items"))
        elif isinstance(volume.get("secret"), dict):
            secret = secrets.get(str(volume["secret"].get("secretName", "")), {})
            files = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
            files.update({k: str(v).encode() for k, v in (secret.get("stringData") or {}).items()})
            _write_items(target, files, volume["secret"].get("items"))
        paths[name] = target
    return paths


def _write_items(target: Path, files: Mapping[str, bytes], items: Any) -> None:
    chosen: dict[str, bytes] = dict(files)
    if isinstance(items, list) and items:
        chosen = {
            str(item.get("path", item.get("key"))): files[str(item.get("key"))]
            for item in items
            if isinstance(item, dict) and str(item.get("key")) in files
        }
    for rel, content in chosen.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def build_container_root(
    root: Path,
    *,
    image_root: Path | None,
    mounts: Mapping[str, Path],
    service_account: ServiceAccountFiles | None,
) -> None:
    """(Re)builds a container root: image symlinks, private dirs, mounts, token files.

    ``mounts`` maps container paths to host directories. Blocking: call it in a thread.
    """
    if root.exists():
        shutil.rmtree(root)  # a restarted container starts from the image again
    real = set(_PRIVATE_DIRS)
    if service_account is not None:
        real.add(SERVICE_ACCOUNT_DIR)
    mount_points = {posixpath.normpath(p) for p in mounts}
    needed: set[str] = set()
    for path in real | mount_points:
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts) + (0 if path in mount_points else 1)):
            needed.add("/" + "/".join(parts[:depth]))
    _populate(root, "", image_root, needed)
    for container_path, host_dir in sorted(mounts.items()):
        link = Path(str(root) + posixpath.normpath(container_path))
        if link.is_symlink() or link.is_file():
            link.unlink()
        elif link.is_dir():
            shutil.rmtree(link)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(host_dir, target_is_directory=True)
    if service_account is not None:
        sa_dir = Path(str(root) + SERVICE_ACCOUNT_DIR)
        sa_dir.mkdir(parents=True, exist_ok=True)
        (sa_dir / "token").write_text(service_account.token)
        (sa_dir / "ca.crt").write_bytes(service_account.ca_crt)
        (sa_dir / "namespace").write_text(service_account.namespace)


def _populate(root: Path, rel: str, image_root: Path | None, needed: set[str]) -> None:
    here = Path(str(root) + rel) if rel else root
    here.mkdir(parents=True, exist_ok=True)
    source = Path(str(image_root) + rel) if image_root is not None else None
    names: set[str] = set()
    if source is not None and source.is_dir():
        with os.scandir(source) as entries:
            for entry in entries:
                names.add(entry.name)
                child = f"{rel}/{entry.name}"
                if child in needed:
                    _populate(root, child, image_root, needed)
                else:
                    (here / entry.name).symlink_to(entry.path)
    for child in needed:
        if posixpath.dirname(child) == (rel or "/") and posixpath.basename(child) not in names:
            _populate(root, child, image_root, needed)


def remove_pod_dirs(dirs: PodDirs) -> None:
    """Removes a pod's files; symlinks into images are unlinked, never followed."""
    shutil.rmtree(dirs.base, ignore_errors=True)


def node_root(state_dir: Path, node: str) -> Path:
    """The directory standing for a node's root filesystem (hostPath volumes, core dumps)."""
    return state_dir / "nodes" / node
