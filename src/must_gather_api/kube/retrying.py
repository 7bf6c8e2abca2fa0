"""Retrying calls to the Kubernetes API that failed for a reason that may pass.

Throttling (429), server errors (500/502/503/504) and connections that broke are retried
with exponential backoff and full jitter, honouring ``Retry-After``; anything else (401,
403, 404, 409, 422 ...) is an answer and is raised at once. Every retry loop is bounded by
a deadline (a ``time.monotonic()`` instant): the gathering's own.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from must_gather_api.kube import failures

log = logging.getLogger(__name__)

T = TypeVar("T")

# A Retry-After longer than this is not waited for in full: the backoff cap applies again.
_RETRY_AFTER_MAX = 60.0


@dataclass(frozen=True)
class Backoff:
    """Delays of successive retries: ``initial * factor**n``, capped, with full jitter."""

    initial: float = 0.2
    factor: float = 2.0
    maximum: float = 10.0
    attempts: int = 12

    def delay(self, attempt: int, *, rng: random.Random | None = None) -> float:
        ceiling = min(self.maximum, self.initial * self.factor**attempt)
        # Full jitter spreads retries of many clients apart; never below a tenth of the ceiling.
        return (rng or random).uniform(ceiling / 10, ceiling)


DEFAULT_BACKOFF = Backoff()


def is_transient(error: BaseException) -> bool:
    """Worth retrying: throttling, server errors, and no answer at all.

    A websocket handshake refused with a status is an answer like any other: only the
    statuses that would be retried on a plain request are.
    """
    if isinstance(error, aiohttp.WSServerHandshakeError):
        return error.status in failures.TRANSIENT_STATUSES
    if isinstance(error, aiohttp.ClientResponseError):
        return error.status in failures.TRANSIENT_STATUSES
    return failures.is_transient(error)


def retry_after(error: BaseException) -> float | None:
    """The server's ``Retry-After`` (seconds or an HTTP date), if it sent one."""
    headers: Any = getattr(error, "headers", None)
    if headers is None or not (
        failures.is_api_exception(error) or isinstance(error, aiohttp.ClientResponseError)
    ):
        return None
    value = headers.get("Retry-After")
    if not value:
        return None
    value = str(value).strip()
    if value.isdigit():
        return min(float(value), _RETRY_AFTER_MAX)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(when.timestamp() - time.time(), _RETRY_AFTER_MAX))


async def retry(
    call: Callable[[], Awaitable[T]],
    *,
    deadline: float | None,
    what: str = "a cluster call",
    backoff: Backoff = DEFAULT_BACKOFF,
    transient: Callable[[BaseException], bool] = is_transient,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> T:
    """``await call()``, again after transient failures until ``deadline`` or the attempts end.

    The last error is raised when no retry is left, so callers see what really happened.
    """
    attempt = 0
    while True:
        try:
            return await call()
        except Exception as e:
            if not transient(e) or attempt + 1 >= backoff.attempts:
                raise
            delay = backoff.delay(attempt)
            asked = retry_after(e)
            if asked is not None:
                delay = max(delay, asked)
            if deadline is not None and time.monotonic() + delay >= deadline:
                raise
            log.info(
                "%s failed (%s); retry %d in %.2fs", what, failures.describe(e), attempt + 1, delay
            )
            if on_retry is not None:
                on_retry(e, delay)
            attempt += 1
            await asyncio.sleep(delay)
