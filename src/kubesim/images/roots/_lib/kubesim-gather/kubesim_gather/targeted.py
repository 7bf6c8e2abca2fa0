"""``/usr/bin/targeted`` of the Forklift stand-in: gathering driven by NS=, PLAN=, VM=.

The messages and exit codes are the real image's. kubesim serves no KubeVirt objects, so
a "VM" here is an entry of a Plan's ``spec.vms`` (matched by name or id), dumped as the
plan knows it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubesim_gather.api import ApiClient, ApiError
from kubesim_gather.container import must_gather_dir, say, warn, write_yaml
from kubesim_gather.forklift import (
    MIGRATIONS,
    PLANS,
    dump_object,
    forklift_namespaces,
    plan_vms,
    pod_logs,
    pods_with_vm_ids,
)
from kubesim_gather.inspect import NAMESPACES, PODS, name_of
from kubesim_gather.packing import pack, remove_empty

MISSING_PARAMETERS = (
    "ERROR: Missing targeted gathering parameters. Use NS, PLAN and/or VM env variables."
)
NS_NOT_FOUND = (
    "ERROR: Specified NS doesn't exist, targeted gathering cannot continue. "
    "Set NS to an existing namespace."
)
# "Mutiple" is how the real image spells it; clients may match the text.
MULTIPLE_VMS = (
    "ERROR: Mutiple VMs found for provided VM name. Use NS env variable together with VM "
    "env variable to specify the right one using its ID."
)
NOTHING_FOUND = (
    "ERROR: No resources matching the criteria were found. Try adjust NS, PLAN or VM env variables."
)


class TargetedFailure(Exception):
    """Targeted gathering cannot go on; the lines are printed and the script exits 1."""

    def __init__(self, *lines: str) -> None:
        super().__init__(lines[0])
        self.lines = lines


@dataclass
class Selection:
    plans: list[dict[str, Any]] = field(default_factory=list)
    # (namespace the VM's pods live in, plan, vm {"id", "name"})
    vms: list[tuple[str, dict[str, Any], dict[str, str]]] = field(default_factory=list)

    def add_plan(self, plan: dict[str, Any]) -> None:
        if all(_key(p) != _key(plan) for p in self.plans):
            self.plans.append(plan)

    def add_vm(self, plan: dict[str, Any], vm: dict[str, str]) -> None:
        target = _target_ns(plan)
        if all((_key(p), v["id"]) != (_key(plan), vm["id"]) for _, p, v in self.vms):
            self.vms.append((target, plan, vm))

    def terms(self) -> list[str]:
        """What a log line must mention to be kept (the real image greps the same way)."""
        found = [f"{_key(p)[0]}/{_key(p)[1]}" for p in self.plans]
        found += [_key(p)[1] for p in self.plans]
        for _, _, vm in self.vms:
            found += [vm["id"], vm["name"]]
        return sorted({t for t in found if t})


def _key(plan: dict[str, Any]) -> tuple[str, str]:
    return str((plan.get("metadata") or {}).get("namespace", "")), name_of(plan)


def _target_ns(plan: dict[str, Any]) -> str:
    return str((plan.get("spec") or {}).get("targetNamespace") or _key(plan)[0])


def select(client: ApiClient, migration_ns: str, env: dict[str, str]) -> Selection:
    ns, plan_name, vm_name = env.get("NS", ""), env.get("PLAN", ""), env.get("VM", "")
    if not (ns or plan_name or vm_name):
        raise TargetedFailure(MISSING_PARAMETERS)
    chosen = Selection()
    target_ns = migration_ns
    if ns:
        say(f"Targeted gathering for Namespace: {ns}")
        try:
            client.get_json(NAMESPACES.path(name=ns))
        except ApiError as e:
            if e.not_found:
                raise TargetedFailure(NS_NOT_FOUND) from e
            raise
        target_ns = ns
        if not plan_name and not vm_name:
            for plan in client.list_items(PLANS.path(namespace=ns)):
                if _target_ns(plan) == ns:
                    chosen.add_plan(plan)
                    for vm in plan_vms(plan):
                        chosen.add_vm(plan, vm)
    if plan_name:
        say(f"Targeted gathering for Plan: {plan_name}")
        try:
            plan = client.get_json(PLANS.path(namespace=target_ns, name=plan_name))
        except ApiError as e:
            if not e.not_found:
                raise
            warn(
                f'Error from server (NotFound): plans.forklift.konveyor.io "{plan_name}" not found'
            )
        else:
            chosen.add_plan(plan)
            for vm in plan_vms(plan):
                chosen.add_vm(plan, vm)
    if vm_name:
        say(f"Targeted gathering for VM: {vm_name}")
        _select_vm(client, chosen, vm_name, ns=ns, plan_name=plan_name, target_ns=target_ns)
    if not chosen.plans and not chosen.vms:
        raise TargetedFailure(NOTHING_FOUND)
    return chosen


def _select_vm(
    client: ApiClient, chosen: Selection, vm_name: str, *, ns: str, plan_name: str, target_ns: str
) -> None:
    if plan_name:
        candidates = [p for p in chosen.plans if name_of(p) == plan_name]
    else:
        # Without NS the real image looks the VM up in every namespace.
        candidates = client.list_items(PLANS.path(namespace=ns) if ns else PLANS.path())
    matches = [
        (plan, vm)
        for plan in candidates
        for vm in plan_vms(plan)
        if vm_name in (vm["id"], vm["name"])
    ]
    places = {(_target_ns(plan), vm["id"]) for plan, vm in matches}
    if len(places) > 1 and not ns:
        listing = [
            f"{_target_ns(p)}  {vm['name']}  {vm['id']}  (plan {name_of(p)})" for p, vm in matches
        ]
        raise TargetedFailure(MULTIPLE_VMS, *listing)
    if not matches:
        say(f"VirtualMachine {vm_name} doesn't exist in {target_ns} namespace, skipping.")
    for plan, vm in matches:
        chosen.add_vm(plan, vm)


def dump(client: ApiClient, out: Path, chosen: Selection) -> None:
    if chosen.plans:
        say("Gathering plans..")
    for plan in chosen.plans:
        dump_object(out, "plan", PLANS, plan)
        plan_ns, name = _key(plan)
        for migration in client.list_items(MIGRATIONS.path(namespace=plan_ns)):
            if ((migration.get("spec") or {}).get("plan") or {}).get("name") == name:
                dump_object(out, "migration", MIGRATIONS, migration)
    if chosen.vms:
        say("Gathering virtualmachines..")
    for target, plan, vm in chosen.vms:
        say(f"Dumping virtualmachine: {vm['name']} from {target}")
        record = {
            "apiVersion": "kubesim.io/v1",
            "kind": "PlanVirtualMachine",
            "metadata": {"name": vm["name"], "namespace": target},
            "plan": {"namespace": _key(plan)[0], "name": _key(plan)[1]},
            "vm": vm,
        }
        write_yaml(
            out / "namespaces" / target / "crs" / "virtualmachine" / f"{vm['name']}.yaml", record
        )


def collect_logs(client: ApiClient, out: Path, migration_ns: str, chosen: Selection) -> None:
    terms = chosen.terms()
    say("Condition for targeted logs filtering:")
    say("|".join(terms))
    for pod in client.list_items(PODS.path(namespace=migration_ns)):
        pod_logs(
            client,
            out,
            migration_ns,
            pod,
            keep_line=lambda line: any(t in line for t in terms),
            previous=False,
        )
    by_ns: dict[str, list[str]] = {}
    for target, _, vm in chosen.vms:
        by_ns.setdefault(target, []).append(vm["id"])
    for target, ids in by_ns.items():
        for pod in pods_with_vm_ids(client, target, ids):
            pod_logs(client, out, target, pod, previous=False)


def main() -> int:
    out = must_gather_dir()
    env = {key: os.environ.get(key, "").strip() for key in ("NS", "PLAN", "VM")}
    try:
        client = ApiClient.from_environment()
        for migration_ns in forklift_namespaces(client):
            say(f"Targeted gathering for Forklift in namespaces [{migration_ns}]")
            chosen = select(client, migration_ns, env)
            dump(client, out, chosen)
            say(f"Gathering logs for namespaces [{migration_ns}]")
            collect_logs(client, out, migration_ns, chosen)
    except TargetedFailure as failure:
        for line in failure.lines:
            say(line)
        return 1
    except ApiError as e:
        warn(f"error: {e}")
        return 1
    say("Cleaning must-gather directory structure...")
    remove_empty(out)
    pack()
    say("Waiting for copy phase...")
    return 0
