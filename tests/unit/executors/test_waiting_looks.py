"""How often a pod that has not started is looked at."""

from __future__ import annotations

from itertools import islice

import pytest

from must_gather_api.executors.kubernetes.waiting import looks

pytestmark = pytest.mark.timeout(5)


def test_the_first_looks_come_soon_then_every_interval() -> None:
    assert list(islice(looks(2.0), 7)) == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]


def test_an_interval_shorter_than_the_first_look_is_kept() -> None:
    assert list(islice(looks(0.05), 3)) == [0.05, 0.05, 0.05]
