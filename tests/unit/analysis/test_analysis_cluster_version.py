from __future__ import annotations

from must_gather_api.analysis import cluster_version
from must_gather_api.analysis.model import Severity
from support.archives import condition, files

PATH = "cluster-scoped-resources/config.openshift.io/clusterversions/version.yaml"


def version(*conditions: dict[str, str]) -> dict[str, object]:
    return {
        "kind": "ClusterVersion",
        "metadata": {"name": "version"},
        "status": {
            "desired": {"version": "4.18.4"},
            "history": [
                {"version": "4.18.4", "state": "Partial"},
                {"version": "4.18.3", "state": "Completed"},
            ],
            "conditions": list(conditions),
        },
    }


def test_version_history_and_a_failing_update() -> None:
    found = cluster_version.analyze(
        files(
            {
                PATH: version(
                    condition("Available", "True"),
                    condition("Failing", "True", "Cluster operator etcd is degraded"),
                    condition("Progressing", "True", "Working towards 4.18.4"),
                )
            }
        )
    )
    by_reason = {f.reason: f for f in found}
    assert set(by_reason) == {"Version", "Failing", "Progressing"}
    assert (
        by_reason["Version"].message
        == "version 4.18.4; history: 4.18.4 (Partial), 4.18.3 (Completed)"
    )
    assert by_reason["Failing"].severity is Severity.ERROR
    assert by_reason["Progressing"].severity is Severity.WARNING


def test_a_settled_cluster_has_only_its_version() -> None:
    found = cluster_version.analyze(files({PATH: version(condition("Failing", "False"))}))
    assert [f.severity for f in found] == [Severity.INFO]
