"""The targeted command shape: what a caller without the admin permission may run."""

from __future__ import annotations

import pytest

from must_gather_api.parameters import is_targeted, parse_command


@pytest.mark.parametrize(
    "line",
    [
        "/usr/bin/targeted",
        "/usr/bin/gather",
        "PLAN=plan1 /usr/bin/targeted",
        "NS=openshift-mtv VM=vm-3345 /usr/bin/targeted",
        "NS=ns1 PLAN=p.1 VM=v /usr/bin/targeted",
    ],
)
def test_targeted_shapes(line: str) -> None:
    assert is_targeted(parse_command(line))


@pytest.mark.parametrize(
    "line",
    [
        "/bin/sh -c true",
        "bash -c /usr/bin/targeted",
        "/usr/bin/targeted --all",
        "/usr/bin/targeted; id",
        "targeted",
        "KUBECONFIG=/tmp/k /usr/bin/targeted",
        "LD_PRELOAD=/x.so /usr/bin/gather",
        "PLAN=../../etc /usr/bin/targeted",
        "PLAN='$(id)' /usr/bin/targeted",
        "PLAN=Upper /usr/bin/targeted",
        "PLAN=a PLAN=b /usr/bin/targeted",
        "PLAN= /usr/bin/targeted",
    ],
)
def test_anything_else_is_not(line: str) -> None:
    assert not is_targeted(parse_command(line))
