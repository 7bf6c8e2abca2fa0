"""The Forklift stand-in: gather and targeted, the archive they leave, and their failures."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from kubesim import kinds
from kubesim.images import builtin
from support.fakeapi import Ran, Served, fake_api, run_image

__all__ = ["fake_api"]
IMAGE = f"{builtin.FORKLIFT_MUST_GATHER}:latest"


def archive_members(ran: Ran) -> dict[str, bytes]:
    """Asserts the real image's ending: only must-gather.tar.gz is left, entries prefixed."""
    assert sorted(p.name for p in ran.out.iterdir()) == ["must-gather.tar.gz"]
    found: dict[str, bytes] = {}
    with tarfile.open(ran.out / "must-gather.tar.gz", "r:gz") as tar:
        for member in tar.getmembers():
            assert member.name == "must-gather" or member.name.startswith("must-gather/")
            extracted = tar.extractfile(member) if member.isfile() else None
            found[member.name] = extracted.read() if extracted is not None else b""
    return found


@pytest.mark.asyncio
async def test_gather_packs_every_forklift_object_and_log(tmp_path: Path, fake_api: Served) -> None:
    ran = await run_image(tmp_path, IMAGE, "/usr/bin/gather", port=fake_api.port)
    assert ran.code == 0, ran.stderr
    members = archive_members(ran)
    crs = "must-gather/namespaces/openshift-mtv/crs"
    for rel in (
        f"{crs}/forkliftcontrollers.forklift.konveyor.io/forklift-controller.yaml",
        f"{crs}/plans.forklift.konveyor.io/prod-cold-migration.yaml",
        f"{crs}/providers.forklift.konveyor.io/vsphere-prod.yaml",
        "must-gather/namespaces/migration-demo/crs/plans.forklift.konveyor.io/demo-cold-plan.yaml",
        "must-gather/namespaces/openshift-mtv/logs/forklift-controller-7d9c6b5f4-k2j8h/current.log",
    ):
        assert rel in members, rel
    controller_log = members[
        "must-gather/namespaces/openshift-mtv/logs/forklift-controller-7d9c6b5f4-k2j8h/current.log"
    ].decode()
    assert "forklift-controller starting" in controller_log  # both containers, in order
    assert "inventory: refreshed 42 VMs" in controller_log
    assert any("/logs/prod-cold-migration-vm-1001-" in name for name in members)
    assert ran.stdout.rstrip().endswith("Waiting for copy phase...")


@pytest.mark.asyncio
async def test_targeted_plan_collects_the_plan_its_vms_and_filtered_logs(
    tmp_path: Path, fake_api: Served
) -> None:
    ran = await run_image(
        tmp_path,
        IMAGE,
        "/usr/bin/targeted",
        port=fake_api.port,
        env={"PLAN": "prod-cold-migration"},
    )
    assert ran.code == 0, ran.stdout + ran.stderr
    members = archive_members(ran)
    names = set(members)
    assert "must-gather/namespaces/openshift-mtv/crs/plan/prod-cold-migration.yaml" in names
    assert any(n.startswith("must-gather/namespaces/openshift-mtv/crs/migration/") for n in names)
    assert "must-gather/namespaces/migration-demo/crs/virtualmachine/database-01.yaml" in names
    assert not any("prod-warm-migration" in n or "demo-cold-plan" in n for n in names)
    log = members[
        "must-gather/namespaces/openshift-mtv/logs/forklift-controller-7d9c6b5f4-k2j8h/current.log"
    ].decode()
    assert "openshift-mtv/prod-cold-migration" in log
    assert "prod-warm-migration" not in log and "starting" not in log
    # The forklift-api pod logs nothing about the plan: its empty file was removed.
    assert not any("forklift-api" in n for n in names)
    assert any("/logs/prod-cold-migration-vm-1002-" in n for n in names)


@pytest.mark.asyncio
async def test_targeted_ns_and_vm_in_a_user_namespace(tmp_path: Path, fake_api: Served) -> None:
    env = {"NS": "migration-demo", "VM": "database-01"}
    ran = await run_image(tmp_path, IMAGE, "/usr/bin/targeted", port=fake_api.port, env=env)
    assert ran.code == 0, ran.stdout + ran.stderr
    names = set(archive_members(ran))
    assert "must-gather/namespaces/migration-demo/crs/virtualmachine/database-01.yaml" in names
    assert any("/logs/demo-cold-plan-vm-2001-" in n for n in names)
    assert not any("vm-1001" in n for n in names)


@pytest.mark.asyncio
async def test_targeted_ns_alone_takes_the_plans_targeting_it(
    tmp_path: Path, fake_api: Served
) -> None:
    for env in ({"NS": "migration-demo"}, {"NS": "migration-demo", "PLAN": "demo-cold-plan"}):
        ran = await run_image(tmp_path, IMAGE, "/usr/bin/targeted", port=fake_api.port, env=env)
        assert ran.code == 0, ran.stdout + ran.stderr
        names = set(archive_members(ran))
        assert "must-gather/namespaces/migration-demo/crs/plan/demo-cold-plan.yaml" in names
        (ran.out / "must-gather.tar.gz").unlink()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {},
            "ERROR: Missing targeted gathering parameters. Use NS, PLAN and/or VM env variables.",
        ),
        (
            {"PLAN": "no-such-plan"},
            "ERROR: No resources matching the criteria were found. Try adjust NS, PLAN or VM "
            "env variables.",
        ),
        (
            {"NS": "no-such-namespace"},
            "ERROR: Specified NS doesn't exist, targeted gathering cannot continue. Set NS to an "
            "existing namespace.",
        ),
        (
            {"VM": "database-01"},
            "ERROR: Mutiple VMs found for provided VM name. Use NS env variable together with VM "
            "env variable to specify the right one using its ID.",
        ),
        (
            # demo-cold-plan lives in migration-demo: without NS it is looked up in openshift-mtv.
            {"PLAN": "demo-cold-plan"},
            "ERROR: No resources matching the criteria were found.",
        ),
    ],
)
@pytest.mark.asyncio
async def test_targeted_failures_print_the_real_messages_and_exit_1(
    tmp_path: Path, fake_api: Served, env: dict[str, str], message: str
) -> None:
    ran = await run_image(tmp_path, IMAGE, "/usr/bin/targeted", port=fake_api.port, env=env)
    assert ran.code == 1
    assert message in ran.stdout
    assert not (ran.out / "must-gather.tar.gz").exists()


@pytest.mark.asyncio
async def test_without_a_forklift_controller_the_archive_is_empty(
    tmp_path: Path, fake_api: Served
) -> None:
    fake_api.api.store.delete(
        kinds.FORKLIFT_CONTROLLERS, "forklift-controller", namespace="openshift-mtv"
    )
    ran = await run_image(tmp_path, IMAGE, "/usr/bin/targeted", port=fake_api.port)
    assert ran.code == 0
    assert set(archive_members(ran)) == {"must-gather"}
