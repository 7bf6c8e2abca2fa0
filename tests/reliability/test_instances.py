"""Two deployments (different INSTANCE, each its own store and data) on one kubesim, each
its own process: the one that starts tidies only its own leftovers and leaves the other's
running gathering alone. (tests/e2e/test_namespace_ledger.py checks the selection itself
in-process.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from support.gathering_calls import client_for, log_says, poll, post, says
from support.processes import GATHERING_LABEL, kubesim_process, service_environment, service_process

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(120)]

INSTANCE_LABEL = "must-gather-api.io/instance"


def latest_heartbeat(record: dict[str, Any]) -> int:
    """N of the never-ending image's last `still gathering (N)` line."""
    return max(map(int, re.findall(r"still gathering \((\d+)\)", record["exec-output"])))


async def test_a_deployment_starting_tidies_only_its_own_instances_namespaces(
    tmp_path: Path,
) -> None:
    async with (
        kubesim_process(tmp_path / "kubesim") as cluster,
        service_process(
            tmp_path / "blue",
            **service_environment(cluster, credentials="service"),
            INSTANCE="blue",
        ) as blue,
    ):
        running = await post(
            blue,
            {
                "image": "kubesim.local/must-gather-never-ends:latest",
                "command": "HEARTBEAT_SECONDS=0.2 /usr/bin/gather",
                "timeout": "5m",
                "volume-percentage": 100,
            },
        )
        await poll(blue, running, says("still gathering (1)"))
        # What a killed gathering of green's left: green removes it as it starts.
        stale = {
            "metadata": {
                "name": "openshift-must-gather-green-left",
                "labels": {GATHERING_LABEL: "99", INSTANCE_LABEL: "green"},
            }
        }
        async with cluster.client() as admin:
            (await admin.post("/api/v1/namespaces", json=stale)).raise_for_status()
            ours = {"labelSelector": f"{INSTANCE_LABEL}=blue"}
            [blues] = (await admin.get("/api/v1/namespaces", params=ours)).json()["items"]
        async with service_process(
            tmp_path / "green",
            **service_environment(cluster, credentials="service"),
            INSTANCE="green",
        ) as green:
            # Blue's gathering 1 is unknown to green's store: only the label keeps it.
            await log_says(green, "removed 1 leftover objects of earlier gatherings")
        async with cluster.client() as admin:
            left = await admin.get(f"/api/v1/namespaces/{blues['metadata']['name']}")
            assert left.status_code == 200, "green removed blue's namespace"
            assert "deletionTimestamp" not in left.json()["metadata"], left.json()
            gone = await admin.get("/api/v1/namespaces/openshift-must-gather-green-left")
            assert gone.status_code == 404 or "deletionTimestamp" in gone.json()["metadata"]
        # Blue's gathering kept running throughout: it still prints, and ends as cancelled.
        async with client_for(blue) as api:
            before = latest_heartbeat((await api.get(f"/must-gather/{running}")).json())
        await poll(blue, running, lambda r: latest_heartbeat(r) > before)
        async with client_for(blue) as api:
            cancelled = (await api.delete(f"/must-gather/{running}")).json()
        assert (cancelled["status"], cancelled["error-reason"]) == ("error", "cancelled")
        await cluster.no_leftovers()
