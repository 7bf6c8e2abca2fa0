"""Outcomes as data: each failure keeps its kind; the error-reason is built from them."""

from __future__ import annotations

import pytest

from must_gather_api.archive.packing import ArchiveTooLarge
from must_gather_api.errors import ExecutionFailed, FailureKind
from must_gather_api.executors.base import Failure, Outcome
from must_gather_api.executors.kubernetes.errors import (
    ClusterCallFailed,
    CopyFailed,
    GatherError,
    GatherFailed,
    GatherTimedOut,
    PodNotStarted,
    TooLarge,
)
from must_gather_api.executors.kubernetes.namespaces import Place, PlaceIncomplete


def test_a_completed_outcome_has_no_kind_and_no_reason() -> None:
    outcome = Outcome(gathered=("the fallback inspect ran",))
    assert outcome.succeeded
    assert (outcome.kind, outcome.error_reason) == (None, "")


def test_the_reason_lists_failures_then_what_was_gathered_then_what_was_left() -> None:
    outcome = Outcome(
        failures=(
            Failure(FailureKind.IMAGE_PULL, "unable to pull image a"),
            Failure(FailureKind.POD_FAILED, "gather exited with code 2"),
        ),
        gathered=("the fallback inspect ran (into inspect.local.1/)",),
        left=(Failure(FailureKind.CLEANUP, "namespace x could not be deleted"),),
    )
    assert not outcome.succeeded
    assert outcome.kind is FailureKind.IMAGE_PULL
    assert outcome.error_reason == (
        "unable to pull image a; gather exited with code 2; "
        "the fallback inspect ran (into inspect.local.1/); namespace x could not be deleted"
    )


def test_only_something_left_behind_is_a_cleanup_failure() -> None:
    outcome = Outcome(left=(Failure(FailureKind.CLEANUP, "namespace x could not be deleted"),))
    assert not outcome.succeeded
    assert outcome.kind is FailureKind.CLEANUP
    assert outcome.error_reason == "namespace x could not be deleted"


def test_with_failure_adds_after_what_is_there() -> None:
    outcome = Outcome.failed(FailureKind.TIMEOUT, "a").with_failure(
        Failure(FailureKind.NO_DATA, "b")
    )
    assert [f.kind for f in outcome.failures] == [FailureKind.TIMEOUT, FailureKind.NO_DATA]
    assert outcome.error_reason == "a; b"


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (GatherError("no node matches"), FailureKind.REFUSED),
        (ClusterCallFailed("refused", status=403), FailureKind.FORBIDDEN),
        (ClusterCallFailed("expired", status=401), FailureKind.FORBIDDEN),
        (ClusterCallFailed("no answer"), FailureKind.UNREACHABLE),
        (ClusterCallFailed("busy", status=503), FailureKind.UNREACHABLE),
        (ClusterCallFailed("slow down", status=429), FailureKind.UNREACHABLE),
        (ClusterCallFailed("not there", status=404), FailureKind.REFUSED),
        (ClusterCallFailed("invalid", status=422), FailureKind.REFUSED),
        (
            PlaceIncomplete("no binding", place=Place("ns", temporary=True), status=403),
            FailureKind.FORBIDDEN,
        ),
        (PodNotStarted("unschedulable"), FailureKind.NOT_STARTED),
        (PodNotStarted("unable to pull", kind=FailureKind.IMAGE_PULL), FailureKind.IMAGE_PULL),
        (GatherFailed("exit 1", exit_code=1), FailureKind.POD_FAILED),
        (GatherTimedOut("late"), FailureKind.TIMEOUT),
        (CopyFailed("cut"), FailureKind.COPY_FAILED),
        (TooLarge("big"), FailureKind.TOO_LARGE),
        (ArchiveTooLarge("big"), FailureKind.TOO_LARGE),
        (ExecutionFailed("bug"), FailureKind.INTERNAL),
    ],
)
def test_every_executor_error_has_its_kind(error: ExecutionFailed, kind: FailureKind) -> None:
    assert isinstance(error, ExecutionFailed)
    assert Failure.of(error) == Failure(kind, error.message)


def test_a_kind_given_to_one_error_does_not_change_its_class() -> None:
    PodNotStarted("a", kind=FailureKind.IMAGE_PULL)
    assert PodNotStarted("b").kind is FailureKind.NOT_STARTED
