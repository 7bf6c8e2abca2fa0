"""oc's cluster summary (openshift/oc pkg/cli/admin/mustgather/summary.go, commit
6b8e30c5b39aa742147846341a203905e04834f3): its lines for a reading, and the changes between
the reading at the start and the one at the end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from must_gather_api.executors.kubernetes import cluster_summary as summary
from must_gather_api.executors.kubernetes.cluster_summary import ClusterState

NOW = datetime(2026, 4, 22, 9, 0, tzinfo=UTC)


def stamp(ago: timedelta) -> str:
    return (NOW - ago).strftime("%Y-%m-%dT%H:%M:%SZ")


def operator(name: str, **conditions: tuple[str, str]) -> dict[str, Any]:
    healthy = {
        "Available": ("True", "ok"),
        "Degraded": ("False", ""),
        "Progressing": ("False", ""),
        "Upgradeable": ("True", ""),
    }
    merged = {**healthy, **conditions}
    return {
        "metadata": {"name": name},
        "status": {
            "conditions": [
                {"type": kind, "status": status, "message": message}
                for kind, (status, message) in merged.items()
                if status
            ]
        },
    }


def all_operators(*changed: dict[str, Any]) -> dict[str, Any]:
    by_name = {name: operator(name) for name in summary.LONG_EXISTING_OPERATORS}
    by_name.update({o["metadata"]["name"]: o for o in changed})
    return {"items": list(by_name.values())}


def version(history: list[tuple[str, str, timedelta]], desired: str) -> dict[str, Any]:
    return {
        "spec": {"clusterID": "7f6e2b1c-0000-4000-8000-000000000001"},
        "status": {
            "desired": {"version": desired},
            "history": [
                {"state": state, "version": v, "startedTime": stamp(ago)}
                for state, v, ago in history
            ],
            "conditions": [
                {"type": "Available", "status": "True", "message": "Done"},
                {"type": "Progressing", "status": "True", "message": "Working towards 4.18.4"},
            ],
        },
    }


STABLE = version([("Completed", "4.18.3", timedelta(hours=70))], "4.18.3")


def state(cv: dict[str, Any] | None, cos: dict[str, Any] | None) -> ClusterState:
    return ClusterState(
        summary.version_state(cv, NOW) if cv is not None else None,
        summary.operator_states(cos) if cos is not None else None,
        version_error="" if cv is not None else "cannot read clusterversion/version: 404",
        operators_error="" if cos is not None else "cannot list clusteroperators: 404",
    )


def test_a_healthy_stable_cluster_reads_as_oc_prints_it() -> None:
    lines = summary.summary_lines(state(STABLE, all_operators()))
    assert lines == [
        summary.HEADER,
        "ClusterID: 7f6e2b1c-0000-4000-8000-000000000001",
        f"ClientVersion: {summary.client_version()}",
        'ClusterVersion: Stable at "4.18.3"',
        "ClusterOperators:",
        "\tAll healthy and stable",
        "",
        "",
    ]
    assert summary.HEADER.startswith("When opening a support case, bugzilla, or issue")


def test_each_operator_case_in_ocs_order_then_the_missing_ones_sorted() -> None:
    listed = {
        "items": [
            operator("etcd", Available=("False", "no quorum"), Degraded=("True", "member down")),
            operator("dns", Degraded=("True", "pods crash")),
            operator("ingress", Upgradeable=("False", "old routes")),
            operator("network", Progressing=("True", "rolling out")),
            operator("console", Degraded=("", "")),  # no Degraded condition: counts as set
            operator("storage", Upgradeable=("", "")),  # no Upgradeable: upgradeable
            operator("extra"),
        ]
    }
    lines = summary.summary_lines(state(STABLE, listed))
    start = lines.index("ClusterOperators:") + 1
    shown = lines[start:-2]
    assert shown[:5] == [
        "\tclusteroperator/etcd is not available (no quorum) because member down",
        "\tclusteroperator/dns is degraded because pods crash",
        "\tclusteroperator/ingress is not upgradeable because old routes",
        "\tclusteroperator/network is progressing: rolling out",
        "\tclusteroperator/console is degraded because <missing>",
    ]
    missing = shown[5:]
    expected_missing = sorted(
        set(summary.LONG_EXISTING_OPERATORS)
        - {"etcd", "dns", "ingress", "network", "console"}
        - {"storage"}
    )
    assert missing == [f"\tclusteroperator/{name} is missing" for name in expected_missing]
    assert len(shown) == 5 + len(expected_missing)


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([], 'Installing "4.18.4" for <unknown>: Working towards 4.18.4'),
        (
            [("Partial", "4.18.4", timedelta(minutes=5, seconds=3))],
            'Installing "4.18.4" for 5 minutes: Working towards 4.18.4',
        ),
        (
            [
                ("Partial", "4.18.4", timedelta(seconds=40)),
                ("Completed", "4.18.3", timedelta(days=3)),
            ],
            'Updating to "4.18.4" from "4.18.3" for 40 seconds: Working towards 4.18.4',
        ),
        ([("Completed", "4.18.4", timedelta(hours=2))], 'Stable at "4.18.4"'),
    ],
)
def test_the_cluster_version_state(
    history: list[tuple[str, str, timedelta]], expected: str
) -> None:
    assert summary.version_state(version(history, "4.18.4"), NOW).text == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.4, "Less than a second"),
        (1, "1 second"),
        (59, "59 seconds"),
        (90, "About a minute"),
        (59 * 60, "59 minutes"),
        (3600 + 29 * 60, "About an hour"),
        (47 * 3600, "47 hours"),
        (13 * 86400, "13 days"),
        (50 * 86400, "7 weeks"),
        (400 * 86400, "13 months"),
        (3 * 365 * 86400, "3 years"),
    ],
)
def test_human_duration_as_go_units(seconds: float, expected: str) -> None:
    assert summary.human_duration(seconds) == expected


def test_a_cluster_without_openshift_reads_as_could_not_be_read() -> None:
    lines = summary.summary_lines(state(None, None))
    assert lines == [
        summary.HEADER,
        "error getting cluster version: cannot read clusterversion/version: 404",
        "ClusterID: <unknown>",
        f"ClientVersion: {summary.client_version()}",
        "ClusterVersion: could not be read",
        "error getting cluster operators: cannot list clusteroperators: 404",
        "ClusterOperators:",
        "\tclusteroperators could not be read",
        "",
        "",
    ]


def test_an_empty_operator_list_reads_as_missing() -> None:
    lines = summary.summary_lines(state(STABLE, {"items": []}))
    assert lines[-3] == "\tclusteroperators are missing"


def test_an_operator_that_degraded_during_the_gathering_is_a_change() -> None:
    before = state(STABLE, all_operators())
    after = state(
        STABLE,
        all_operators(operator("image-registry", Degraded=("True", "no available replicas"))),
    )
    assert summary.difference_lines(before, after) == [
        summary.CHANGES,
        "\tclusteroperator/image-registry: healthy and stable -> is degraded because "
        "no available replicas",
        "",
    ]
    back = summary.difference_lines(after, before)
    assert back[1] == (
        "\tclusteroperator/image-registry: is degraded because no available replicas -> "
        "healthy and stable"
    )


def test_time_passing_alone_is_no_change_but_a_new_update_is() -> None:
    updating = [("Partial", "4.18.4", timedelta(minutes=3)), ("Completed", "4.18.3", timedelta())]
    before = ClusterState(
        summary.version_state(version(updating, "4.18.4"), NOW), summary.operator_states({})
    )
    later = ClusterState(
        summary.version_state(version(updating, "4.18.4"), NOW + timedelta(minutes=10)),
        summary.operator_states({}),
    )
    assert before.version is not None and later.version is not None
    assert before.version.text != later.version.text
    assert summary.difference_lines(before, later) == [f"{summary.CHANGES} none", ""]
    stable = ClusterState(summary.version_state(STABLE, NOW), summary.operator_states({}))
    changes = summary.difference_lines(stable, later)
    assert changes[1].startswith('\tClusterVersion: Stable at "4.18.3" -> Updating to "4.18.4"')
    assert len(changes) == 3


def test_what_could_not_be_read_is_not_compared() -> None:
    changes = summary.difference_lines(state(STABLE, all_operators()), state(None, None))
    assert changes == [
        summary.CHANGES,
        "\tClusterVersion: not compared, it could not be read both times",
        "\tClusterOperators: not compared, they could not be read both times",
        "",
    ]


def test_hostile_shapes_degrade_to_unknowns() -> None:
    odd: dict[str, Any] = {"spec": [], "status": {"history": "x", "conditions": [1, None]}}
    assert summary.version_state(odd, NOW).text == 'Installing "" for <unknown>: <unknown>'
    assert summary.operator_states({"items": [{"metadata": None, "status": 3}]})[0] == (
        "",
        "is not available (<missing>) because <missing>",
    )
