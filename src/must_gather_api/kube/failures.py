"""What a failed call to the Kubernetes API means, in words a person can act on."""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
from typing import TYPE_CHECKING, TypeGuard

import aiohttp

if TYPE_CHECKING:
    from kubernetes_asyncio.client.exceptions import ApiException

TRANSIENT_STATUSES = (429, 500, 502, 503, 504)
"""Answers worth asking again: throttling and server errors."""

# Errors that mean "the cluster could not answer", as opposed to "it answered no".
UNREACHABLE = (aiohttp.ClientError, asyncio.TimeoutError, TimeoutError, ssl.SSLError, OSError)


_API_EXCEPTIONS = "kubernetes_asyncio.client.exceptions"


def is_api_exception(error: BaseException) -> TypeGuard[ApiException]:
    """Whether ``error`` is the Kubernetes client's answer-with-a-status.

    Looked up rather than imported: the copy worker reaches the cluster without that client,
    and importing it costs about half a second of CPU at every start. An error of that type
    can only exist once its module is loaded.
    """
    module = sys.modules.get(_API_EXCEPTIONS)
    return module is not None and isinstance(error, module.ApiException)


UPSTREAM_MAX = 300
"""At most this many characters of a message from the API server reach an error-reason."""


def clipped(text: object, limit: int = UPSTREAM_MAX) -> str:
    """A message from elsewhere as part of an error-reason: one line, at most ``limit``
    characters (an API server or a proxy can answer with a whole page)."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def status_message(error: ApiException) -> str:
    """The message of the Kubernetes Status in the body, or the HTTP reason (clipped)."""
    try:
        body = json.loads(error.body or "{}")
        message = body.get("message") if isinstance(body, dict) else None
    except (TypeError, ValueError):
        message = None
    return clipped(message or error.reason or f"HTTP {error.status}")


def describe(error: BaseException) -> str:
    if is_api_exception(error):
        return f"the API server answered {error.status}: {status_message(error)}"
    if isinstance(error, ssl.SSLError | aiohttp.ClientSSLError):
        return f"TLS verification of the API server failed ({clipped(error)})"
    if isinstance(error, asyncio.TimeoutError | TimeoutError):
        return "the API server did not answer in time"
    # The error's words, never its class: what clients see names no exception type.
    words = clipped(error)
    return (
        f"the API server cannot be reached ({words})"
        if words
        else "the API server cannot be reached"
    )


def is_transient(error: BaseException) -> bool:
    """Worth retrying: throttling, server errors, and no answer at all."""
    if is_api_exception(error):
        return error.status in TRANSIENT_STATUSES
    return isinstance(error, UNREACHABLE)
