"""Kubeconfig files pointing kubectl and clients at a kubesim cluster."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

CONTEXT = "kubesim"


def kubeconfig(
    *, server: str, ca_file: Path, token: str, namespace: str = "default", user: str = "admin"
) -> dict[str, Any]:
    ca_data = base64.b64encode(ca_file.read_bytes()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": CONTEXT, "cluster": {"server": server, "certificate-authority-data": ca_data}}
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {
                "name": CONTEXT,
                "context": {"cluster": CONTEXT, "user": user, "namespace": namespace},
            }
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }


def write_kubeconfig(
    path: Path,
    *,
    server: str,
    ca_file: Path,
    token: str,
    namespace: str = "default",
) -> Path:
    """Writes the file with mode 0600 (it holds a bearer token) and returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(
        kubeconfig(server=server, ca_file=ca_file, token=token, namespace=namespace),
        sort_keys=False,
    )
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(text)
    return path
