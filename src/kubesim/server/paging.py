"""``limit`` and ``continue`` on lists: pages cut from one consistent snapshot.

A real API server serves every page of a chunked list at the first page's resourceVersion
(etcd reads at that revision) and answers ``410 Gone`` (reason ``Expired``) once compaction
has removed that revision (k8s.io/apiserver/pkg/storage/etcd3/store.go, GetList; the token's
shape is in k8s.io/apiserver/pkg/storage/continue.go). kubesim keeps the first page's result
as the snapshot and ties expiry to the store's history, the simulated compaction.
"""

from __future__ import annotations

import base64
import binascii
import collections
import itertools
import json
from dataclasses import dataclass
from typing import Any

from kubesim.errors import BadRequest, Gone
from kubesim.store import Store

# The message kube-apiserver gives for an expired continue token.
EXPIRED_MESSAGE = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list."
)
_CONTINUE_KEY_VERSION = "meta.k8s.io/v1"


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    resource_version: str
    continue_token: str | None = None
    remaining: int | None = None


@dataclass(frozen=True)
class _Token:
    rv: int
    snapshot: int
    offset: int

    def encode(self) -> str:
        raw = {
            "v": _CONTINUE_KEY_VERSION,
            "rv": self.rv,
            "snapshot": self.snapshot,
            "start": self.offset,
        }
        return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode()

    @classmethod
    def decode(cls, text: str) -> _Token:
        try:
            raw = json.loads(base64.urlsafe_b64decode(text.encode()))
            if raw.get("v") != _CONTINUE_KEY_VERSION:
                raise ValueError("unknown version")
            return cls(int(raw["rv"]), int(raw["snapshot"]), int(raw["start"]))
        except (ValueError, TypeError, KeyError, AttributeError, binascii.Error) as e:
            raise BadRequest(f"continue key is not valid: {e}") from e


def parse_limit(value: str | None) -> int:
    """``limit`` from the query: 0 (or none) means everything."""
    if not value:
        return 0
    try:
        limit = int(value)
    except ValueError as e:
        raise BadRequest(f"invalid limit {value!r}") from e
    return max(limit, 0)


class Pager:
    """Keeps the snapshots of chunked lists still being read (the newest ``keep`` of them)."""

    def __init__(self, store: Store, *, keep: int = 64) -> None:
        self._store = store
        self._keep = keep
        self._snapshots: collections.OrderedDict[int, list[dict[str, Any]]] = (
            collections.OrderedDict()
        )
        self._ids = itertools.count(1)

    def first(
        self, items: list[dict[str, Any]], *, resource_version: str, limit: int, counted: bool
    ) -> Page:
        """The first page of a fresh list; ``counted`` lists report remainingItemCount (a
        real server does only without selectors)."""
        if limit <= 0 or len(items) <= limit:
            return Page(items, resource_version)
        snapshot = next(self._ids)
        self._snapshots[snapshot] = items
        while len(self._snapshots) > self._keep:
            self._snapshots.popitem(last=False)
        return self._cut(_Token(int(resource_version), snapshot, 0), items, limit, counted)

    def next(self, token_text: str, *, limit: int, counted: bool) -> Page:
        token = _Token.decode(token_text)
        items = self._snapshots.get(token.snapshot)
        if items is None or not self._store.history_covers(token.rv):
            self._snapshots.pop(token.snapshot, None)
            raise Gone(EXPIRED_MESSAGE)
        return self._cut(token, items, limit, counted)

    def _cut(self, token: _Token, items: list[dict[str, Any]], limit: int, counted: bool) -> Page:
        end = len(items) if limit <= 0 else token.offset + limit
        page = items[token.offset : end]
        rv = str(token.rv)
        if end >= len(items):
            self._snapshots.pop(token.snapshot, None)
            return Page(page, rv)
        following = _Token(token.rv, token.snapshot, end).encode()
        return Page(page, rv, following, len(items) - end if counted else None)
