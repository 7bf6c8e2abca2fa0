"""SERVING_CPUS in tests: the CPUs this process may use, and the background split."""

from __future__ import annotations

import os

import pytest

from must_gather_api import cpus

ALLOWED = sorted(os.sched_getaffinity(0))
SERVING, BACKGROUND = frozenset(ALLOWED[:1]), frozenset(ALLOWED[1:])
two_cpus = pytest.mark.skipif(len(ALLOWED) < 2, reason="needs a process allowed two CPUs")


def as_if_reserved(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment ``serve`` leaves with SERVING_CPUS=1, without moving this process."""
    monkeypatch.setenv(cpus.BACKGROUND_VARIABLE, cpus.listed(BACKGROUND))
