"""How the service reaches its cluster: in-cluster by default, a kubeconfig on request.

TLS is always verified: with the in-cluster CA, the kubeconfig's, or SERVER_CA_FILE
for a request's own `server`. Clients made for a caller's token carry only that
token, never the service's own credentials.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path

from kubernetes_asyncio import client, config

from must_gather_api.errors import ConfigurationError
from must_gather_api.settings import Settings

ApiClient = client.ApiClient
"""The client type, for modules outside ``kube/`` that hold one without calling it."""


@dataclass
class ClusterAccess:
    configuration: client.Configuration
    server_ca_file: Path | None = None

    @classmethod
    async def load(cls, settings: Settings) -> ClusterAccess:
        """The service's own cluster configuration, or ConfigurationError saying what is missing."""
        configuration = client.Configuration()
        try:
            if settings.uses_kubeconfig:
                path = settings.kubeconfig or os.environ.get("KUBECONFIG") or None
                await config.load_kube_config(
                    config_file=path, client_configuration=configuration, persist_config=False
                )
            else:
                config.load_incluster_config(  # type: ignore[no-untyped-call]
                    client_configuration=configuration
                )
        except (config.ConfigException, OSError, ValueError) as e:
            where = "the kubeconfig" if settings.uses_kubeconfig else "the in-cluster configuration"
            hint = (
                "set KUBECONFIG or fix the file"
                if settings.uses_kubeconfig
                else "run in a pod, or set USE_KUBECONFIG=true (with KUBECONFIG) outside a cluster"
            )
            raise ConfigurationError(f"cannot load {where}: {e}; {hint}") from e
        configuration.verify_ssl = True
        return cls(configuration=configuration, server_ca_file=settings.server_ca_file)

    def api_client(self, *, token: str | None = None, server: str = "") -> client.ApiClient:
        """A new client: the service's identity, or only ``token`` when one is given.

        A ``server`` (a request's own API server) gets only a caller's ``token`` and is
        verified with SERVER_CA_FILE alone: the service's identity and the in-cluster CA
        belong to its own cluster and are never offered to another.
        """
        if server and (token is None or self.server_ca_file is None):
            raise ConfigurationError(
                "a request's server is reached only with the caller's own token and "
                "SERVER_CA_FILE; the service's own credentials are never sent there"
            )
        configuration = copy.copy(self.configuration)
        configuration.api_key = dict(self.configuration.api_key)
        configuration.api_key_prefix = dict(self.configuration.api_key_prefix)
        if token is not None:
            configuration.api_key = {"BearerToken": f"Bearer {token}"}
            configuration.api_key_prefix = {}
            configuration.refresh_api_key_hook = None
            configuration.cert_file = None
            configuration.key_file = None
            configuration.username = None
            configuration.password = None
        if server:
            configuration.host = server
            configuration.ssl_ca_cert = str(self.server_ca_file)
        configuration.verify_ssl = True
        return client.ApiClient(configuration)
