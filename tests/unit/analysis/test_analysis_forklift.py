from __future__ import annotations

from datetime import UTC, datetime

from kubesim.seed.faults import FAILED_PLAN, fault_objects
from kubesim.seed.objects import Clock
from must_gather_api.analysis import forklift
from support.archives import TOP, dump, files


def test_a_failed_plan_with_its_step_and_its_failed_migration() -> None:
    seeded = fault_objects(Clock(datetime(2026, 6, 1, tzinfo=UTC)))
    plan = next(obj for kind, obj in seeded if obj.get("kind") == "Plan")
    migration = next(obj for kind, obj in seeded if obj.get("kind") == "Migration")
    ok = {**plan, "metadata": {"name": "ok", "namespace": "mtv"}, "status": {"conditions": []}}
    found = forklift.analyze(
        files(
            {
                f"namespaces/mtv/crs/plan/{FAILED_PLAN}.yaml": dump(plan),
                "namespaces/mtv/crs/plan/ok.yaml": dump(ok),
                "namespaces/mtv/crs/migration/m.yaml": dump(migration),
            }
        )
    )
    assert [(f.object, f.reason) for f in found] == [
        (f"Plan/openshift-mtv/{FAILED_PLAN}", "Failed")
    ]
    assert found[0].message == (
        "failed: The plan execution has FAILED. (VM legacy-erp: step DiskTransfer: "
        "Unable to connect to vddk data source.)"
    )
    assert found[0].evidence == (
        f"{TOP}/namespaces/mtv/crs/plan/{FAILED_PLAN}.yaml",
        f"{TOP}/namespaces/mtv/crs/migration/m.yaml",
    )


def test_a_failed_migration_without_its_plan_is_told_alone() -> None:
    seeded = fault_objects(Clock(datetime(2026, 6, 1, tzinfo=UTC)))
    migration = next(obj for kind, obj in seeded if obj.get("kind") == "Migration")
    found = forklift.analyze(
        files({"namespaces/mtv/crs/migrations.forklift.konveyor.io/m.yaml": dump(migration)})
    )
    assert [(f.object, f.reason) for f in found] == [
        (f"Migration/openshift-mtv/{FAILED_PLAN}-m4x7k", "Failed")
    ]
