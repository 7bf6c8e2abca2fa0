"""A kubeconfig whose cluster is a gathering's archive, served by the service at `/kube`."""

from __future__ import annotations

import base64
from typing import Any

import yaml

from must_gather_api.client.connection import Connection


def kubeconfig_for(
    connection: Connection, gathering_id: int, *, ca_data: bytes | None, insecure: bool
) -> str:
    name = f"must-gather-{gathering_id}"
    cluster: dict[str, Any] = {
        "server": f"{connection.server.rstrip('/')}/must-gather/{gathering_id}/kube"
    }
    if ca_data:
        cluster["certificate-authority-data"] = base64.b64encode(ca_data).decode()
    if insecure:
        cluster["insecure-skip-tls-verify"] = True
    user: dict[str, Any] = {"token": connection.token} if connection.token else {}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)
