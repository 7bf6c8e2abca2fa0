"""Calls that go on past a gathering's timeout end before the runner's hard limit."""

from __future__ import annotations

import pytest

from must_gather_api.executors.kubernetes.executor import overtime


@pytest.mark.parametrize(
    ("margin", "expected"),
    [(0.0, 0.0), (2.0, 1.5), (4.0, 3.0), (60.0, 45.0), (300.0, 270.0), (3600.0, 3570.0)],
)
def test_overtime_keeps_a_quarter_of_the_margin_up_to_thirty_seconds(
    margin: float, expected: float
) -> None:
    assert overtime(margin) == expected


@pytest.mark.parametrize("margin", [0.1, 1.0, 7.0, 119.0, 120.0, 121.0, 86400.0])
def test_overtime_leaves_a_reserve_before_the_hard_limit(margin: float) -> None:
    reserve = margin - overtime(margin)
    assert 0 < reserve <= 30.0
    assert reserve == pytest.approx(min(margin / 4, 30.0))
