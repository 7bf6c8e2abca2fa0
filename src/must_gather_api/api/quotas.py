"""Quotas that keep one caller, or a burst, from taking the service from everyone else.

Counts of gatherings come from the store, so every replica sees the same ones; open
``follow`` streams are counted per process (each replica bounds its own connections).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from must_gather_api.auth.base import Caller
from must_gather_api.errors import TooManyRequests
from must_gather_api.gatherings.store import GatheringStore
from must_gather_api.settings import Settings

_RETRY_AFTER_GATHERING = 30
_RETRY_AFTER_FOLLOW = 10


async def check_new_gathering(caller: Caller, *, settings: Settings, store: GatheringStore) -> None:
    """Raise TooManyRequests when the queue is full or the caller has enough under way.

    Admins are not counted per user: they are the cluster's administrators, and the UIs
    they use start one gathering per plan or VM without waiting for the last.
    """
    if settings.max_queued_gatherings:
        queued, _ = await store.count_active()
        if queued >= settings.max_queued_gatherings:
            raise TooManyRequests(
                f"{queued} gatherings are waiting to run, the most this service queues "
                f"(MAX_QUEUED_GATHERINGS); try again later",
                retry_after=_RETRY_AFTER_GATHERING,
            )
    limit = settings.max_gatherings_per_user
    if limit and not caller.is_admin:
        queued, running = await store.count_active(requested_by=caller.user)
        if queued + running >= limit:
            raise TooManyRequests(
                f"user {caller.user!r} already has {queued + running} gatherings queued or "
                f"running, the most one user may (MAX_GATHERINGS_PER_USER={limit}); wait for "
                "one to end or cancel one",
                retry_after=_RETRY_AFTER_GATHERING,
            )


class FollowStreams:
    """Open ``logs?follow=true`` streams per user, in this process."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._open: Counter[str] = Counter()

    def open_for(self, user: str) -> int:
        return self._open[user]

    def acquire(self, user: str) -> Callable[[], None]:
        """Count one more stream of ``user`` (TooManyRequests past the limit, before any
        byte is sent); the stream calls what this returns when it ends, once."""
        if self._limit and self._open[user] >= self._limit:
            raise TooManyRequests(
                f"{self._open[user]} followed log streams are already open for this user, the "
                f"most one user may hold (MAX_FOLLOWS_PER_USER={self._limit}); close one",
                retry_after=_RETRY_AFTER_FOLLOW,
            )
        self._open[user] += 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self._open[user] -= 1
            if not self._open[user]:
                del self._open[user]

        return release
