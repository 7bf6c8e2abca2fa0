"""deploy/overlays/high-availability renders three replicas that can be one service: a
shared ReadWriteMany claim, PostgreSQL from a Secret that is required, a rolling update,
spreading over nodes and a PodDisruptionBudget that selects the pods."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deploy.rendering import DEPLOY, find, kustomize

OVERLAY = DEPLOY / "overlays" / "high-availability"


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    home: Path = tmp_path_factory.mktemp("kustomize-home")
    return kustomize(OVERLAY, home)


def pod_spec(objects: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = find(objects, "Deployment", "must-gather-api")["spec"]["template"][
        "spec"
    ]
    return spec


def test_three_replicas_roll_without_dropping_below_three(objects: list[dict[str, Any]]) -> None:
    spec = find(objects, "Deployment", "must-gather-api")["spec"]
    assert spec["replicas"] == 3
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }


def test_the_pods_prefer_different_nodes(objects: list[dict[str, Any]]) -> None:
    deployment = find(objects, "Deployment", "must-gather-api")
    [term] = pod_spec(objects)["affinity"]["podAntiAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"
    ]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = term["podAffinityTerm"]["labelSelector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()


def test_a_disruption_budget_keeps_all_but_one(objects: list[dict[str, Any]]) -> None:
    deployment = find(objects, "Deployment", "must-gather-api")
    budget = find(objects, "PodDisruptionBudget", "must-gather-api")
    assert budget["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    assert budget["spec"]["maxUnavailable"] == 1
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_every_replica_mounts_one_read_write_many_claim(objects: list[dict[str, Any]]) -> None:
    claim = find(objects, "PersistentVolumeClaim", "must-gather-api-shared-data")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    [data] = [v for v in pod_spec(objects)["volumes"] if v["name"] == "data"]
    assert data == {
        "name": "data",
        "persistentVolumeClaim": {"claimName": "must-gather-api-shared-data"},
    }
    # The kubernetes overlay's serving certificate is kept.
    assert {v["name"] for v in pod_spec(objects)["volumes"]} == {"data", "serving-cert", "tmp"}
    [container] = pod_spec(objects)["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert str(env["DATA_DIR"]).startswith(mounts["data"])


def test_postgresql_comes_from_a_required_secret_that_is_rendered(
    objects: list[dict[str, Any]],
) -> None:
    [container] = pod_spec(objects)["containers"]
    [database] = [e for e in container["env"] if e["name"] == "DATABASE_URL"]
    reference = database["valueFrom"]["secretKeyRef"]
    assert reference["optional"] is False
    secret = find(objects, "Secret", reference["name"])
    assert secret["stringData"][reference["key"]].startswith("postgresql+asyncpg://")
    # Each pod names itself in its claims and leases.
    [replica] = [e for e in container["env"] if e["name"] == "REPLICA_NAME"]
    assert replica["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
