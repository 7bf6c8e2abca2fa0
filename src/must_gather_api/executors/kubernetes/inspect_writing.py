"""How the fallback inspect writes objects: oc's masking and its list and object files.

Secrets are elided as ``pkg/cli/admin/inspect/secret.go: elideSecret`` does: each value but
the public certificates becomes the text ``"<N> bytes long"``, which oc stores in the
``[]byte`` field and so writes base64-encoded; two annotations are blanked. Routes lose their
TLS key (``route.go: elideRoute``). Lists are written as the dynamic client reads them: each
item carries its ``apiVersion`` and ``kind``.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

import yaml

_KEPT_SECRET_KEYS = ("tls.crt", "ca.crt", "service-ca.crt")
_BLANKED_ANNOTATIONS = (
    "openshift.io/token-secret.value",
    "kubectl.kubernetes.io/last-applied-configuration",
)
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _length(value: Any) -> int:
    try:
        return len(base64.b64decode(str(value), validate=True))
    except (binascii.Error, ValueError):
        return len(str(value))


def mask_secret(secret: dict[str, Any]) -> dict[str, Any]:
    """The secret with each value replaced by ``"<N> bytes long"`` (certificates kept),
    base64-encoded as a Secret's ``data`` always is."""
    masked = dict(secret)
    data = dict(masked.get("data") or {})
    for key, value in data.items():
        if key in _KEPT_SECRET_KEYS:
            continue
        data[key] = base64.b64encode(f"{_length(value)} bytes long".encode()).decode()
    if data:
        masked["data"] = data
    masked.pop("stringData", None)
    meta = dict(masked.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    for name in _BLANKED_ANNOTATIONS:
        if name in annotations:
            annotations[name] = ""
    if annotations:
        meta["annotations"] = annotations
    masked["metadata"] = meta
    return masked


def mask_route(route: dict[str, Any]) -> dict[str, Any]:
    """The route without its TLS private key."""
    spec = dict(route.get("spec") or {})
    tls = spec.get("tls")
    if not isinstance(tls, dict):
        return route
    spec["tls"] = {**tls, "key": ""} if "key" in tls else tls
    return {**route, "spec": spec}


def masked(group: str, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
    """One object as oc writes it."""
    if resource == "secrets" and not group:
        return mask_secret(obj)
    if resource == "routes" and group == "route.openshift.io":
        return mask_route(obj)
    return obj


def as_list(
    listed: dict[str, Any], *, group: str, resource: str, api_version: str, kind: str
) -> dict[str, Any]:
    """A list answer with its items typed and masked, and its own kind set."""
    items = []
    for item in listed.get("items") or []:
        typed = {"apiVersion": api_version, "kind": kind, **item}
        items.append(masked(group, resource, typed))
    return {
        "apiVersion": listed.get("apiVersion") or api_version,
        "items": items,
        "kind": listed.get("kind") or f"{kind}List",
        "metadata": listed.get("metadata") or {},
    }


def write_yaml(path: Path, obj: Any) -> None:
    """Blocking: ``obj`` as YAML at ``path``, folders made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.dump(obj, Dumper=_DUMPER, sort_keys=False), encoding="utf-8")


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def append_line(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        file.write(line + "\n")
