"""What a failed call to the Kubernetes API means, in words a person can act on."""

from __future__ import annotations

import asyncio
import json
import ssl

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException

# Errors that mean "the cluster could not answer", as opposed to "it answered no".
UNREACHABLE = (aiohttp.ClientError, asyncio.TimeoutError, TimeoutError, ssl.SSLError, OSError)


def status_message(error: ApiException) -> str:
    """The message of the Kubernetes Status in the body, or the HTTP reason."""
    try:
        body = json.loads(error.body or "{}")
        message = body.get("message") if isinstance(body, dict) else None
    except (TypeError, ValueError):
        message = None
    return str(message or error.reason or f"HTTP {error.status}")


def describe(error: BaseException) -> str:
    if isinstance(error, ApiException):
        return f"the API server answered {error.status}: {status_message(error)}"
    if isinstance(error, ssl.SSLError | aiohttp.ClientSSLError):
        return f"TLS verification of the API server failed ({error})"
    if isinstance(error, asyncio.TimeoutError | TimeoutError):
        return "the API server did not answer in time"
    # The error's words, never its class: what clients see names no exception type.
    words = str(error).strip()
    return (
        f"the API server cannot be reached ({words})"
        if words
        else ("the API server cannot be reached")
    )


def is_transient(error: BaseException) -> bool:
    """Worth retrying: throttling, server errors, and no answer at all."""
    if isinstance(error, ApiException):
        return error.status in (429, 500, 502, 503, 504)
    return isinstance(error, UNREACHABLE)
