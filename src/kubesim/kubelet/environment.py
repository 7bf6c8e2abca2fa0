"""A container process's environment: what the pod spec says, plus what kubesim needs.

Processes do not inherit the kubelet's environment (a container would not see its node's);
they get the container's env, the variables Kubernetes injects, and kubesim's own.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from kubesim.kubelet.paths import PathMap
from kubesim.kubelet.processes import MARKER_ENV

_FIELD_LABEL = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")
_VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\$")

Lookup = Callable[[str], Mapping[str, Any] | None]


def field_value(pod: Mapping[str, Any], path: str) -> str:
    """The value of a downward-API ``fieldRef.fieldPath``."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.podIP": status.get("podIP"),
        "status.hostIP": status.get("hostIP"),
    }
    if path in simple:
        return str(simple[path] or "")
    match = _FIELD_LABEL.match(path)
    if match:
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    return ""


def expand(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion; unknown references stay as written."""

    def replace(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))

    return _VAR_REF.sub(replace, value)


def _key_ref(ref: Mapping[str, Any], lookup: Lookup, *, secret: bool) -> str | None:
    obj = lookup(str(ref.get("name", "")))
    if obj is None:
        return None
    key = str(ref.get("key", ""))
    if secret:
        data = obj.get("data") or {}
        return base64.b64decode(data[key]).decode(errors="replace") if key in data else None
    data = obj.get("data") or {}
    return str(data[key]) if key in data else None


def container_env(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    *,
    path_map: PathMap,
    api_url: str,
    marker: str,
    config_map: Lookup,
    secret: Lookup,
) -> dict[str, str]:
    """The environment of a container's processes (its main process and exec sessions)."""
    api = urlsplit(api_url)
    host = api.hostname or "127.0.0.1"
    port = str(api.port or (443 if api.scheme == "https" else 80))
    root = str(path_map.root)
    env: dict[str, str] = {
        "PATH": f"{root}/usr/local/bin:{root}/usr/bin:{root}/bin:"
        + os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOSTNAME": str(pod["metadata"]["name"]),
        "HOME": f"{root}/root",
        "KUBERNETES_SERVICE_HOST": host,
        "KUBERNETES_SERVICE_PORT": port,
        "KUBERNETES_SERVICE_PORT_HTTPS": port,
        "KUBERNETES_PORT": f"tcp://{host}:{port}",
        "KUBESIM_ROOT": root,
        "KUBESIM_API_URL": api_url,
    }
    for source in container.get("envFrom") or []:
        prefix = str(source.get("prefix", ""))
        if isinstance(source.get("configMapRef"), dict):
            cm = config_map(str(source["configMapRef"].get("name", ""))) or {}
            env.update({prefix + k: str(v) for k, v in (cm.get("data") or {}).items()})
        elif isinstance(source.get("secretRef"), dict):
            sec = secret(str(source["secretRef"].get("name", ""))) or {}
            env.update(
                {
                    prefix + k: base64.b64decode(v).decode(errors="replace")
                    for k, v in (sec.get("data") or {}).items()
                }
            )
    for var in container.get("env") or []:
        name = str(var.get("name", ""))
        if not name:
            continue
        value_from = var.get("valueFrom")
        if isinstance(value_from, dict):
            resolved: str | None = None
            if isinstance(value_from.get("fieldRef"), dict):
                resolved = field_value(pod, str(value_from["fieldRef"].get("fieldPath", "")))
            elif isinstance(value_from.get("configMapKeyRef"), dict):
                resolved = _key_ref(value_from["configMapKeyRef"], config_map, secret=False)
            elif isinstance(value_from.get("secretKeyRef"), dict):
                resolved = _key_ref(value_from["secretKeyRef"], secret, secret=True)
            if resolved is not None:
                env[name] = resolved
        else:
            env[name] = expand(str(var.get("value", "")), env)
    tar_options = path_map.tar_options()
    if tar_options:
        env["TAR_OPTIONS"] = (
            f"{tar_options} {env['TAR_OPTIONS']}".strip() if "TAR_OPTIONS" in env else tar_options
        )
    env[MARKER_ENV] = marker
    return env
