"""Where the client connects and with which token and trust.

The server comes from ``--server`` or MUST_GATHER_API_URL. The token comes from ``--token``,
MUST_GATHER_API_TOKEN, or the current kubeconfig context's user (what ``oc whoami -t``
prints), read here with PyYAML so that no Kubernetes client library is needed.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import yaml

from must_gather_api import __version__
from must_gather_api.client.errors import UsageError

SERVER_VARIABLE = "MUST_GATHER_API_URL"
TOKEN_VARIABLE = "MUST_GATHER_API_TOKEN"  # noqa: S105 (a variable name)
CA_FILE_VARIABLE = "MUST_GATHER_API_CA_FILE"
REQUEST_TIMEOUT = httpx2.Timeout(30.0, connect=10.0)


@dataclass(frozen=True)
class Connection:
    server: str
    token: str | None = None
    # Where the token came from, so that a refusal can say which one to fix.
    token_source: str = ""
    verify: ssl.SSLContext | bool = True

    def __repr__(self) -> str:
        # The token stays out of tracebacks and debug output.
        return f"Connection(server={self.server!r}, token_source={self.token_source!r})"

    def headers(self) -> dict[str, str]:
        headers = {"user-agent": f"must-gather-api-cli/{__version__}"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        return headers

    def client(self, *, timeout: httpx2.Timeout = REQUEST_TIMEOUT) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            base_url=self.server,
            headers=self.headers(),
            verify=self.verify,
            timeout=timeout,
            follow_redirects=False,
        )


def resolve(
    *,
    server: str | None,
    token: str | None,
    ca_file: Path | None,
    insecure: bool,
    environ: Mapping[str, str],
) -> Connection:
    """The connection the options and the environment ask for; UsageError if they cannot."""
    url = _server_url(server or environ.get(SERVER_VARIABLE, ""))
    found, source = _token(token, environ)
    return Connection(
        server=url, token=found, token_source=source, verify=_trust(ca_file, insecure=insecure)
    )


def _server_url(value: str) -> str:
    value = value.strip()
    if not value:
        raise UsageError(
            f"no server given: use --server https://HOST[:PORT] or set {SERVER_VARIABLE}"
        )
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(
            f"--server {value!r} is not an http:// or https:// URL "
            "(for example https://must-gather-api.example.com)"
        )
    return value.rstrip("/")


def _token(given: str | None, environ: Mapping[str, str]) -> tuple[str | None, str]:
    if given:
        return given, "--token"
    if environ.get(TOKEN_VARIABLE):
        return environ[TOKEN_VARIABLE], TOKEN_VARIABLE
    return kubeconfig_token(environ)


def _trust(ca_file: Path | None, *, insecure: bool) -> ssl.SSLContext | bool:
    if insecure and ca_file is not None:
        raise UsageError("give either --ca-file or --insecure, not both")
    if insecure:
        return False
    if ca_file is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as e:
        raise UsageError(f"--ca-file {ca_file}: not a readable PEM CA bundle ({e})") from e


def kubeconfig_paths(environ: Mapping[str, str]) -> list[Path]:
    listed = environ.get("KUBECONFIG", "")
    if listed:
        return [Path(part) for part in listed.split(os.pathsep) if part]
    home = environ.get("HOME") or str(Path.home())
    return [Path(home) / ".kube" / "config"]


def kubeconfig_token(environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The token of the current context's user, merging files as kubectl does (first wins)."""
    current = ""
    contexts: dict[str, Any] = {}
    users: dict[str, Any] = {}
    for path in kubeconfig_paths(environ):
        document = _load(path)
        current = current or str(document.get("current-context") or "")
        for entry in document.get("contexts") or []:
            if isinstance(entry, dict):
                contexts.setdefault(str(entry.get("name", "")), entry.get("context") or {})
        for entry in document.get("users") or []:
            if isinstance(entry, dict):
                users.setdefault(str(entry.get("name", "")), entry.get("user") or {})
    if not current:
        return None, ""
    context = contexts.get(current)
    if not isinstance(context, dict):
        return None, ""
    user = users.get(str(context.get("user", "")))
    if not isinstance(user, dict):
        return None, ""
    source = f"kubeconfig context {current!r}"
    if user.get("token"):
        return str(user["token"]), source
    if user.get("tokenFile"):
        token_file = Path(str(user["tokenFile"]))
        try:
            return token_file.read_text().strip() or None, source
        except OSError as e:
            raise UsageError(
                f"the tokenFile {token_file} of {source} cannot be read ({e.strerror}); "
                "give --token instead"
            ) from e
    return None, ""


def _load(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise UsageError(f"kubeconfig {path} cannot be read ({e.strerror}); give --token") from e
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise UsageError(f"kubeconfig {path} is not valid YAML; fix it or give --token") from e
    return document if isinstance(document, dict) else {}
