"""Every temporary namespace is written down before it is asked for, and crossed out once
deleted; a restarted service touches only its own INSTANCE's objects."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kubesim import kinds
from kubesim.cluster import Cluster
from must_gather_api.executors.kubernetes import remove_stale_namespaces
from must_gather_api.executors.kubernetes.calls import ClusterCalls
from must_gather_api.executors.kubernetes.console import Console
from must_gather_api.executors.kubernetes.errors import ClusterCallFailed
from must_gather_api.executors.kubernetes.namespaces import INSTANCE_LABEL, create_temporary
from support.native import Lines, access_for, executor_for, job, leftovers

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(120)]


@dataclass
class Ledger:
    """What the executor wrote down, in order, and what the cluster held at each entry."""

    cluster: Cluster
    events: list[tuple[str, str, bool]] = field(default_factory=list)
    names: set[str] = field(default_factory=set)

    def _exists(self, name: str) -> bool:
        return any(n["metadata"]["name"] == name for n in self.cluster.store.list(kinds.NAMESPACES))

    async def creating(self, name: str) -> None:
        self.events.append(("creating", name, self._exists(name)))
        self.names.add(name)

    async def removed(self, name: str) -> None:
        self.events.append(("removed", name, self._exists(name)))
        self.names.discard(name)

    async def recorded(self) -> tuple[str, ...]:
        return tuple(sorted(self.names))


async def test_a_gathering_records_its_namespace_before_it_exists_and_forgets_it_once_deleted(
    kubesim: Cluster, tmp_path: Path
) -> None:
    ledger = Ledger(kubesim)
    gathering = job(tmp_path)
    gathering = type(gathering)(**{**gathering.__dict__, "ledger": ledger})
    executor = await executor_for(kubesim, tmp_path, instance="blue")
    output = Lines()
    outcome = await executor.run(gathering, output)
    assert outcome.succeeded, (outcome, output.text)
    [created, removed] = ledger.events
    assert created[0] == "creating" and created[2] is False, ledger.events
    assert removed[:2] == ("removed", created[1]), ledger.events
    assert f"namespace/{created[1]} created" in output.text
    assert ledger.names == set()
    assert leftovers(kubesim) == []


async def test_a_refused_create_leaves_nothing_recorded(kubesim: Cluster, tmp_path: Path) -> None:
    ledger = Ledger(kubesim)
    access = await access_for(kubesim, tmp_path)
    calls = ClusterCalls(access.api_client(), request_timeout=10, deadline=time.monotonic() + 30)
    try:
        with pytest.raises(ClusterCallFailed):
            # An instance that is no label value: the API server refuses the namespace.
            await create_temporary(
                calls, 7, Console(Lines(), tmp_path), instance="-bad-", ledger=ledger
            )
    finally:
        await calls.close()
    assert [event[0] for event in ledger.events] == ["creating", "removed"]
    assert ledger.names == set()


async def test_a_restart_removes_only_its_own_instances_namespaces(
    kubesim: Cluster, tmp_path: Path
) -> None:
    access = await access_for(kubesim, tmp_path)
    calls = ClusterCalls(access.api_client(), request_timeout=10, deadline=time.monotonic() + 30)
    made = {}
    try:
        for instance in ("blue", "green"):
            place = await create_temporary(calls, 1, Console(Lines(), tmp_path), instance=instance)
            made[instance] = place.name
    finally:
        await calls.close()
    async with access.api_client() as api:
        tidied = await remove_stale_namespaces(api, active_ids=set(), instance="blue")
    assert tidied.deleted == 1
    remaining = {
        n["metadata"]["name"]: n["metadata"]["labels"][INSTANCE_LABEL]
        for n in kubesim.store.list(kinds.NAMESPACES)
        if INSTANCE_LABEL in (n["metadata"].get("labels") or {})
        and not n["metadata"].get("deletionTimestamp")
    }
    assert remaining == {made["green"]: "green"}


async def test_recorded_namespaces_are_removed_by_name_and_those_gone_are_crossed_out(
    kubesim: Cluster, tmp_path: Path
) -> None:
    access = await access_for(kubesim, tmp_path)
    calls = ClusterCalls(access.api_client(), request_timeout=10, deadline=time.monotonic() + 30)
    try:
        place = await create_temporary(calls, 3, Console(Lines(), tmp_path), instance="blue")
    finally:
        await calls.close()
    recorded = ((3, place.name), (4, "openshift-must-gather-zzzzz"), (5, "in-use"))
    async with access.api_client() as api:
        tidied = await remove_stale_namespaces(
            api, active_ids={5}, instance="other", recorded=recorded
        )
    # Found by its recorded name even where its label is another instance's.
    assert tidied.deleted == 1
    assert sorted(tidied.gone) == sorted([place.name, "openshift-must-gather-zzzzz"])
    assert tidied.left == ()
