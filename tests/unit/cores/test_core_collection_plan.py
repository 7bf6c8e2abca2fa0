"""Which cores a gathering's archive takes: newest first, each that still fits the budget."""

from __future__ import annotations

from must_gather_api.cores.collection import plan
from must_gather_api.cores.service import Listing


def listing(*cores: tuple[str, str, int, int]) -> Listing:
    """(node, id, timestamp, size) for each core, oldest first as the service lists them."""
    return Listing(
        cores=[
            {"node": node, "id": core_id, "COREDUMP_TIMESTAMP": stamp}
            for node, core_id, stamp, _ in cores
        ],
        sizes={(node, core_id): size for node, core_id, _, size in cores},
    )


OLD_SMALL = ("w0", "core.a.1", 1, 1_000)
MIDDLE_LARGE = ("w1", "core.b.2", 2, 50_000)
NEW_SMALL = ("w0", "core.c.3", 3, 2_000)
BOTH = listing(OLD_SMALL, MIDDLE_LARGE, NEW_SMALL)


def test_without_a_limit_every_core_is_taken() -> None:
    chosen = plan(BOTH, budget=None)
    assert chosen.wanted == {
        ("w0", "core.a.1"): 1_000,
        ("w1", "core.b.2"): 50_000,
        ("w0", "core.c.3"): 2_000,
    }
    assert chosen.notes == {}


def test_a_core_that_does_not_fit_is_noted_and_smaller_older_ones_still_taken() -> None:
    chosen = plan(BOTH, budget=20_000)
    assert list(chosen.wanted) == [("w0", "core.c.3"), ("w0", "core.a.1")]  # newest first
    assert list(chosen.notes) == [("w1", "core.b.2")]
    note = chosen.notes["w1", "core.b.2"]
    assert "50000 bytes" in note
    assert "MAX_ARCHIVE_BYTES" in note
    assert "/apiv1/cores/download/w1/core.b.2" in note


def test_the_budget_counts_each_files_tar_headers() -> None:
    exact = plan(listing(NEW_SMALL), budget=2_000)
    assert exact.wanted == {}
    assert list(exact.notes) == [("w0", "core.c.3")]
    assert plan(listing(NEW_SMALL), budget=2_000 + 2 * 3 * 512).wanted == {
        ("w0", "core.c.3"): 2_000
    }


def test_no_budget_left_takes_nothing() -> None:
    chosen = plan(BOTH, budget=-5)
    assert chosen.wanted == {}
    assert len(chosen.notes) == 3
