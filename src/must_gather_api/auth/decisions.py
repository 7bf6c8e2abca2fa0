"""Remembered authorization decisions, keyed by the sha256 of the token.

Allowed and denied decisions are both kept for the TTL, in a bounded LRU; an
"API server could not answer" is never kept. Concurrent requests with the same new
token share one review: the first starts it as a task, the others await that task.
No lock is held across the network call.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from must_gather_api.auth.base import Caller
from must_gather_api.errors import Forbidden, Unauthenticated

_KEPT_DENIALS = (Unauthenticated, Forbidden)


@dataclass(frozen=True)
class _Decision:
    expires: float
    caller: Caller | None = None
    denial: type[Unauthenticated | Forbidden] | None = None
    message: str = ""

    def result(self) -> Caller:
        if self.denial is not None or self.caller is None:
            raise (self.denial or Unauthenticated)(self.message)
        return self.caller


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class DecisionCache:
    def __init__(
        self,
        *,
        ttl: float,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._decisions: OrderedDict[str, _Decision] = OrderedDict()
        self._in_flight: dict[str, asyncio.Task[Caller]] = {}

    def __len__(self) -> int:
        return len(self._decisions)

    async def decide(self, key: str, review: Callable[[], Awaitable[Caller]]) -> Caller:
        decision = self._decisions.get(key)
        if decision is not None:
            if decision.expires > self._clock():
                self._decisions.move_to_end(key)
                return decision.result()
            del self._decisions[key]
        task = self._in_flight.get(key)
        if task is None:
            task = asyncio.create_task(self._review(key, review), name="auth-review")
            self._in_flight[key] = task
            task.add_done_callback(lambda _: self._in_flight.pop(key, None))
        # Shielded: one caller giving up must not cancel the review the others wait for.
        return await asyncio.shield(task)

    async def _review(self, key: str, review: Callable[[], Awaitable[Caller]]) -> Caller:
        try:
            caller = await review()
        except _KEPT_DENIALS as denial:
            self._remember(
                key, _Decision(self._expiry(), denial=type(denial), message=denial.message)
            )
            raise
        self._remember(key, _Decision(self._expiry(), caller=caller))
        return caller

    def _expiry(self) -> float:
        return self._clock() + self._ttl

    def _remember(self, key: str, decision: _Decision) -> None:
        if self._ttl <= 0:
            return
        self._decisions[key] = decision
        self._decisions.move_to_end(key)
        while len(self._decisions) > self._max_entries:
            self._decisions.popitem(last=False)
