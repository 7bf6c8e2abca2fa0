"""A gathering's ``cores`` option against kubesim: crashes on two nodes land in its archive."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest

from kubesim.cluster import Cluster
from must_gather_api.app import create_app
from support.cores import (
    ADMIN,
    SECRET,
    all_node_pods_gone,
    core_files,
    crash,
    provision,
    service_settings,
)
from support.service import make_settings
from support.users import as_user

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(180)]

IMAGE = "quay.io/openshift/origin-must-gather"
CORES = "must-gather/cores/"


@asynccontextmanager
async def service(
    cluster: Cluster, tmp_path: Path, **settings: Any
) -> AsyncIterator[httpx2.AsyncClient]:
    kubeconfig = provision(cluster, tmp_path)
    app = create_app(make_settings(tmp_path, **service_settings(kubeconfig, **settings)))
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(
            transport=transport, base_url="http://service", timeout=120
        ) as client:
            yield client


async def gathered(client: httpx2.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    """The gathering, once ended (its output followed to the end)."""
    created = await client.post("/must-gather", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    url = f"/must-gather/{created.json()['id']}"
    async with client.stream("GET", url + "/logs", params={"follow": "true"}, headers=ADMIN) as out:
        assert out.status_code == 200
        async for _ in out.aiter_bytes():
            pass
    ended: dict[str, Any] = (await client.get(url, headers=ADMIN)).json()
    assert ended["status"] == "completed", ended["error-reason"]
    return ended


async def members(client: httpx2.AsyncClient, gathering: dict[str, Any]) -> dict[str, bytes]:
    """Every file of the archive under cores/, by its name in the archive."""
    data = await client.get(f"/must-gather/{gathering['id']}/data", headers=ADMIN)
    assert data.status_code == 200
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data.content), mode="r:gz") as tar:
        names = tar.getnames()
        assert any(n.startswith("must-gather/") and not n.startswith(CORES) for n in names[2:])
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith(CORES):
                extracted = tar.extractfile(member)
                assert extracted is not None
                found[member.name] = extracted.read()
    return found


async def test_metadata_then_all_put_each_nodes_cores_in_the_archive(
    kubesim: Cluster, tmp_path: Path
) -> None:
    await crash(kubesim, "default", "crasher-a", "worker-0")
    await crash(kubesim, "migration-demo", "crasher-b", "worker-1")
    on_disk = {node: core_files(kubesim, node) for node in ("worker-0", "worker-1")}
    assert [len(files) for files in on_disk.values()] == [1, 1]

    async with service(kubesim, tmp_path) as client:
        listed = (await client.get("/apiv1/cores", headers=ADMIN)).json()
        assert len(listed) == 2

        only_metadata = await gathered(client, {"image": IMAGE, "cores": "metadata"})
        assert only_metadata["cores"] == "metadata"
        assert "added the metadata of 2 core dumps" in only_metadata["exec-output"]
        found = await members(client, only_metadata)
        assert sorted(found) == sorted(f"{CORES}{c['node']}/{c['id']}.json" for c in listed)
        for core in listed:
            assert json.loads(found[f"{CORES}{core['node']}/{core['id']}.json"]) == core
        assert all(SECRET.encode() not in content for content in found.values())

        everything = await gathered(client, {"image": IMAGE, "cores": "all"})
        assert everything["cores"] == "all"
        assert "added 2 core dumps (" in everything["exec-output"]
        found = await members(client, everything)
        assert len(found) == 4
        for core in listed:
            path = on_disk[core["node"]][0]
            assert found[f"{CORES}{core['node']}/{core['id']}"] == path.read_bytes()
            shown = json.loads(found[f"{CORES}{core['node']}/{core['id']}.json"])
            assert shown == {**core, "in_archive": True}
            assert "COREDUMP_ENVIRON" not in shown

        plain = await gathered(client, {"image": IMAGE})
        assert plain["cores"] == "none"
        assert await members(client, plain) == {}

    await all_node_pods_gone(kubesim)


async def test_a_caller_without_the_cores_permission_is_refused(
    kubesim: Cluster, tmp_path: Path
) -> None:
    await crash(kubesim, "default", "crasher-a", "worker-0")
    # alice may ask for gatherings (get namespaces) but not read cores (cluster-admin).
    admin_only = {"cores_verb": "*", "cores_group": "*", "cores_resource": "*"}
    async with service(kubesim, tmp_path, cores_namespace="*", **admin_only) as client:
        for choice in ("metadata", "all"):
            refused = await client.post(
                "/must-gather", json={"cores": choice}, headers=as_user("alice")
            )
            assert refused.status_code == 403, refused.text
            problem = refused.json()
            assert problem["detail"].startswith(f"cores: {choice} needs the permission")
            assert "CORES_*" in problem["detail"]
        listed = await client.get("/must-gather", headers=ADMIN)
        assert listed.json() == []  # nothing was queued
        allowed = await client.post(
            "/must-gather", json={"cores": "none"}, headers=as_user("alice")
        )
        assert allowed.status_code == 201, allowed.text


async def test_cores_past_the_size_budget_are_listed_with_a_note(
    kubesim: Cluster, tmp_path: Path
) -> None:
    await crash(kubesim, "default", "small", "worker-0", core_bytes=50_000)
    await crash(kubesim, "default", "large", "worker-1", core_bytes=4_000_000)
    small = core_files(kubesim, "worker-0")[0]
    large = core_files(kubesim, "worker-1")[0]
    budget = large.stat().st_size  # the gathered data and the small core fit; the large not
    assert small.stat().st_size * 4 < budget

    async with service(kubesim, tmp_path, max_archive_bytes=str(budget)) as client:
        done = await gathered(client, {"image": IMAGE, "cores": "all"})
        assert done["archive-size"] <= budget
        assert "added 1 core dump (" in done["exec-output"]
        assert f"worker-1/{large.name} not in the archive" in done["exec-output"]
        found = await members(client, done)
        assert sorted(found) == [
            f"{CORES}worker-0/{small.name}",
            f"{CORES}worker-0/{small.name}.json",
            f"{CORES}worker-1/{large.name}.json",
        ]
        assert found[f"{CORES}worker-0/{small.name}"] == small.read_bytes()
        left_out = json.loads(found[f"{CORES}worker-1/{large.name}.json"])
        assert left_out["in_archive"] is False
        assert "MAX_ARCHIVE_BYTES" in left_out["note"]
        assert left_out["pod"] == "large"
