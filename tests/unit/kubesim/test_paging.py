"""Continue tokens: pages of one snapshot, eviction of the oldest snapshots, bad tokens."""

from __future__ import annotations

from typing import Any

import pytest

from kubesim.errors import BadRequest, Gone
from kubesim.server.paging import Pager, parse_limit
from kubesim.store import Store


def _items(n: int) -> list[dict[str, Any]]:
    return [{"metadata": {"name": f"o-{i}"}} for i in range(n)]


def test_pages_cover_the_snapshot_once_and_the_last_has_no_token() -> None:
    pager = Pager(Store())
    page = pager.first(_items(5), resource_version="7", limit=2, counted=True)
    names: list[str] = []
    pages = 1
    while True:
        names += [o["metadata"]["name"] for o in page.items]
        assert page.resource_version == "7"
        if page.continue_token is None:
            assert page.remaining is None
            break
        assert page.remaining == 5 - len(names)
        page = pager.next(page.continue_token, limit=2, counted=True)
        pages += 1
    assert names == [f"o-{i}" for i in range(5)] and pages == 3
    uncounted = pager.first(_items(5), resource_version="7", limit=2, counted=False)
    assert uncounted.continue_token is not None and uncounted.remaining is None
    assert (
        pager.first(_items(2), resource_version="7", limit=2, counted=True).continue_token is None
    )


def test_the_oldest_snapshots_expire_and_bad_tokens_are_refused() -> None:
    pager = Pager(Store(), keep=2)
    tokens = [
        pager.first(_items(3), resource_version="1", limit=1, counted=True).continue_token
        for _ in range(3)
    ]
    assert all(tokens)
    with pytest.raises(Gone):
        pager.next(str(tokens[0]), limit=1, counted=True)
    assert pager.next(str(tokens[2]), limit=1, counted=True).items == [
        {"metadata": {"name": "o-1"}}
    ]
    for bad in ("garbage", "e30=", "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ=="):
        with pytest.raises(BadRequest):
            pager.next(bad, limit=1, counted=True)
    assert (parse_limit(None), parse_limit("0"), parse_limit("-3"), parse_limit("5")) == (
        0,
        0,
        0,
        5,
    )
    with pytest.raises(BadRequest):
        parse_limit("many")
