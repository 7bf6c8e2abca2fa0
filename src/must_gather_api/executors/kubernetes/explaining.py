"""A failed call to the API server as the executor's error, in words a person can act on.

Apart from ``calls`` so that the copy worker (a process that reaches the cluster without the
Kubernetes client) explains its failures in the same words as every other call.
"""

from __future__ import annotations

import aiohttp

from must_gather_api.executors.kubernetes.errors import ClusterCallFailed
from must_gather_api.kube import failures

_OTHER_SERVER = (
    "the API server given in `server` did not answer as a Kubernetes API server over TLS "
    "verified with SERVER_CA_FILE"
)


def explain(error: BaseException, what: str, *, other_server: bool = False) -> ClusterCallFailed:
    """``error`` of the call doing ``what``, as the executor's error.

    For a request's own server, failures below HTTP (refused, reset, TLS, not HTTP) read
    alike: telling them apart would make the service a port scanner for its callers.
    """
    status = getattr(error, "status", None)
    answered = failures.is_api_exception(error) or isinstance(error, aiohttp.WSServerHandshakeError)
    if other_server and not answered:
        return ClusterCallFailed(f"cannot {what}: {_OTHER_SERVER}", status=None)
    if answered and status == 401:
        detail = (
            "the API server no longer accepts the credentials (401 Unauthorized): the token "
            "was revoked or has expired"
        )
    elif isinstance(error, aiohttp.WSServerHandshakeError):
        detail = (
            f"the API server refused the connection ({status}: {failures.clipped(error.message)})"
        )
    else:
        detail = failures.describe(error)
    return ClusterCallFailed(f"cannot {what}: {detail}", status=status)
