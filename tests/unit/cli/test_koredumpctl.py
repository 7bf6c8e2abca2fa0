"""koredumpctl's command lines, reordered for `must-gather-api cores`."""

from __future__ import annotations

import pytest

from must_gather_api.cli.koredumpctl import translate

pytestmark = pytest.mark.timeout(10)


def test_options_anywhere_move_after_the_subcommand() -> None:
    assert translate(["-1", "-o", "json", "list"]) == ["list", "-1", "-o", "json"]
    assert translate(["list", "-n", "ns", "--pod", "p", "-o", "json"]) == [
        "list",
        "-n",
        "ns",
        "--pod",
        "p",
        "-o",
        "json",
    ]
    assert translate(["--token=t", "-v", "get", "-1", "-d"]) == ["get", "--token", "t", "-1", "-d"]
    assert translate(["get", "node-1", "core.a.zst"]) == ["get", "node-1", "core.a.zst"]


def test_options_a_command_does_not_take_are_dropped_as_koredumpctl_ignores_them() -> None:
    assert translate(["-a", "-d", "list"]) == ["list"]
    assert translate(["-n", "x", "-o", "json", "status"]) == ["status", "-o", "json"]


def test_usage_for_nothing_help_or_an_unknown_command() -> None:
    assert translate([]) is None
    assert translate(["-h", "list"]) is None
    assert translate(["rm"]) is None
    with pytest.raises(SystemExit, match="koredumpctl"):
        translate(["--bogus", "list"])
