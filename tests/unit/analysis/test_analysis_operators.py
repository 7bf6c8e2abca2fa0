from __future__ import annotations

from must_gather_api.analysis import operators
from must_gather_api.analysis.model import Severity
from support.archives import TOP, condition, files

PATH = "cluster-scoped-resources/config.openshift.io/clusteroperators"


def operator(name: str, *conditions: dict[str, str]) -> dict[str, object]:
    return {
        "kind": "ClusterOperator",
        "metadata": {"name": name},
        "status": {"conditions": list(conditions)},
    }


def test_degraded_and_unavailable_operators_with_their_messages() -> None:
    found = operators.analyze(
        files(
            {
                f"{PATH}/dns.yaml": operator(
                    "dns", condition("Available", "True"), condition("Degraded", "False")
                ),
                f"{PATH}/auth.yaml": operator("auth", condition("Degraded", "True", "pods crash")),
                f"{PATH}/etcd.yaml": operator("etcd", condition("Available", "False", "no quorum")),
            }
        )
    )
    assert [(f.object, f.reason, f.severity) for f in found] == [
        ("ClusterOperator/auth", "Degraded", Severity.ERROR),
        ("ClusterOperator/etcd", "Unavailable", Severity.ERROR),
    ]
    assert found[0].message == "degraded: pods crash"
    assert found[0].evidence == (f"{TOP}/{PATH}/auth.yaml",)
