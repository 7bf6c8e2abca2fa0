"""SERVING_CPUS: the service's CPUs and the background's, apart."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import pytest

from must_gather_api import cpus
from support.cpus import ALLOWED, BACKGROUND, SERVING, as_if_reserved, two_cpus

pytestmark = pytest.mark.timeout(10)


def in_a_thread(work: Callable[[], object]) -> tuple[object, set[int]]:
    """What ``work`` returned and the CPUs its thread may run on after it, in a thread of
    its own: Linux keeps CPU affinity per thread, so the test's own thread keeps its CPUs."""
    results: list[tuple[object, set[int]]] = []
    thread = threading.Thread(
        target=lambda: results.append((work(), os.sched_getaffinity(0))), name="cpus-test"
    )
    thread.start()
    thread.join()
    [result] = results
    return result


@pytest.mark.parametrize(
    ("cpu_set", "text"),
    [({0}, "0"), ({0, 1}, "0-1"), ({0, 1, 2, 5}, "0-2,5"), ({3, 7, 8, 9, 11}, "3,7-9,11")],
)
def test_a_cpu_list_is_written_and_read_as_the_kernel_does(cpu_set: set[int], text: str) -> None:
    assert cpus.listed(cpu_set) == text
    assert cpus.parse(text) == cpu_set


@pytest.mark.parametrize("text", ["", "a", "3-1", "-1", "0,,1", "1-2-3"])
def test_what_is_not_a_cpu_list_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        cpus.parse(text)


def test_the_lowest_cpus_serve_and_the_rest_are_the_background() -> None:
    assert cpus.split([5, 1, 3, 2], 1) == cpus.Split(frozenset({1}), frozenset({2, 3, 5}))
    assert cpus.split(range(8), 3) == cpus.Split(frozenset({0, 1, 2}), frozenset(range(3, 8)))


def test_a_reservation_that_leaves_no_background_cpu_says_what_there_is() -> None:
    with pytest.raises(cpus.CannotKeepCpus) as raised:
        cpus.split([0, 1], 2)
    assert str(raised.value) == (
        "SERVING_CPUS=2 leaves no CPU for copying and packing: this process may run on 2 "
        "(0-1); set it to at most 1, or 0 for no reservation"
    )


def test_no_reservation_changes_nothing() -> None:
    environ: dict[str, str] = {}
    assert in_a_thread(lambda: cpus.reserve(0, environ)) == (None, set(ALLOWED))
    assert environ == {}
    assert in_a_thread(lambda: cpus.move_to_background(0, environ)) == (None, set(ALLOWED))


@two_cpus
def test_a_reservation_moves_the_caller_and_tells_the_background_its_cpus() -> None:
    environ: dict[str, str] = {}
    split, now = in_a_thread(lambda: cpus.reserve(1, environ))
    assert split == cpus.Split(SERVING, BACKGROUND)
    assert now == SERVING
    assert environ == {cpus.BACKGROUND_VARIABLE: cpus.listed(BACKGROUND)}
    assert os.sched_getaffinity(0) == set(ALLOWED)  # the test's thread is where it was


@two_cpus
def test_background_work_moves_to_the_background_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    as_if_reserved(monkeypatch)

    assert in_a_thread(cpus.enter_background) == (None, set(BACKGROUND))
    assert os.sched_getaffinity(0) == set(ALLOWED)


@pytest.mark.parametrize("text", ["nonsense", "4096"])
def test_a_background_list_that_cannot_be_used_leaves_the_thread_where_it_is(text: str) -> None:
    environ = {cpus.BACKGROUND_VARIABLE: text}
    assert in_a_thread(lambda: cpus.move_to_background(0, environ)) == (None, set(ALLOWED))


def test_a_process_that_may_not_choose_its_cpus_is_told_to_keep_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refused(pid: int, mask: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(os, "sched_setaffinity", refused)
    environ: dict[str, str] = {}
    with pytest.raises(cpus.CannotKeepCpus) as raised:
        cpus.reserve(1, environ)
    assert str(raised.value) == (
        "SERVING_CPUS=1: this process may not choose its CPUs here (Operation not permitted); "
        "set it to 0"
    )
    assert environ == {}
