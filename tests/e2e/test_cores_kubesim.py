"""koredump's API on this service against kubesim: crashes on two nodes, in two namespaces."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
import zstandard

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

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(120)]


@asynccontextmanager
async def service(
    cluster: Cluster, tmp_path: Path, **settings: Any
) -> AsyncIterator[httpx2.AsyncClient]:
    kubeconfig = provision(cluster, tmp_path)
    app = create_app(make_settings(tmp_path, **service_settings(kubeconfig, **settings)))
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(
            transport=transport, base_url="http://service", timeout=60
        ) as client:
            yield client


async def test_list_metadata_download_and_delete(kubesim: Cluster, tmp_path: Path) -> None:
    await crash(kubesim, "default", "crasher-a", "worker-0")
    await crash(kubesim, "migration-demo", "crasher-b", "worker-1")
    assert len(core_files(kubesim, "worker-0")) == 1
    assert len(core_files(kubesim, "worker-1")) == 1

    async with service(kubesim, tmp_path) as client:
        assert (await client.get("/apiv1/cores")).status_code == 401

        answer = await client.get("/apiv1/cores", headers=ADMIN)
        assert answer.status_code == 200, answer.text
        assert "Cores-Unavailable-Nodes" not in answer.headers
        assert SECRET not in answer.text
        cores = answer.json()
        assert [(c["node"], c["namespace"], c["pod"]) for c in cores] == [
            ("worker-0", "default", "crasher-a"),
            ("worker-1", "migration-demo", "crasher-b"),
        ]  # oldest first
        first = cores[0]
        assert first["container"] == "app"
        assert first["image_name"] == "kubesim.local/crashes"
        assert first["COREDUMP_SIGNAL"] == 11
        assert first["COREDUMP_SIGNAL_NAME"] == "SIGSEGV"
        assert first["id"] == core_files(kubesim, "worker-0")[0].name
        assert "COREDUMP_ENVIRON" not in first
        assert first["ARCH"]

        by_namespace = await client.get("/apiv1/cores?namespace=migration-demo", headers=ADMIN)
        assert [c["pod"] for c in by_namespace.json()] == ["crasher-b"]
        by_pod = await client.get("/apiv1/cores", params={"pod": "crasher-a"}, headers=ADMIN)
        assert [c["pod"] for c in by_pod.json()] == ["crasher-a"]
        assert (await client.get("/apiv1/cores?namespace=nope", headers=ADMIN)).json() == []

        meta = await client.get(f"/apiv1/cores/metadata/worker-0/{first['id']}", headers=ADMIN)
        assert meta.json() == first
        missing = await client.get("/apiv1/cores/metadata/worker-0/core.nope.zst", headers=ADMIN)
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"

        path = core_files(kubesim, "worker-0")[0]
        on_disk = path.read_bytes()
        url = f"/apiv1/cores/download/worker-0/{first['id']}"
        whole = await client.get(url, headers=ADMIN)
        assert whole.status_code == 200
        assert whole.content == on_disk
        assert whole.headers["content-length"] == str(len(on_disk))
        assert first["id"] in whole.headers["content-disposition"]
        assert whole.headers["last-modified"].endswith("GMT")

        part = await client.get(url, headers={**ADMIN, "Range": "bytes=10-99"})
        assert part.status_code == 206
        assert part.content == on_disk[10:100]
        assert part.headers["content-range"] == f"bytes 10-99/{len(on_disk)}"
        outside = await client.get(url, headers={**ADMIN, "Range": f"bytes={len(on_disk)}-"})
        assert outside.status_code == 416

        plain = await client.get(url + "?decompress=true", headers=ADMIN)
        assert plain.status_code == 200
        expected = zstandard.ZstdDecompressor().decompressobj().decompress(on_disk)
        assert len(expected) == 300000
        assert plain.content == expected
        assert plain.content.startswith(b"\x7fELF")

        refused = await client.delete(
            f"/apiv1/cores/delete/worker-0/{first['id']}", headers=as_user("alice")
        )
        assert refused.status_code == 403
        assert path.exists()
        # alice may read (CORES_* is hers here), only not delete
        assert len((await client.get("/apiv1/cores", headers=as_user("alice"))).json()) == 2

        deleted = await client.delete(f"/apiv1/cores/delete/worker-0/{first['id']}", headers=ADMIN)
        assert deleted.status_code == 200, deleted.text
        assert not path.exists()
        left = (await client.get("/apiv1/cores", headers=ADMIN)).json()
        assert [c["pod"] for c in left] == ["crasher-b"]

    await all_node_pods_gone(kubesim)


async def test_decompress_refuses_other_files_and_a_down_node_is_named(
    kubesim_factory: Any, tmp_path: Path
) -> None:
    cluster: Cluster = await kubesim_factory(faults=["node-not-ready=worker-1"])
    await crash(cluster, "default", "crasher-a", "worker-0")
    async with service(cluster, tmp_path, cores_node_timeout="3s") as client:
        plain = await client.get(
            "/apiv1/cores/download/worker-0/core.x.0.1.2.3",
            params={"decompress": "true"},
            headers=ADMIN,
        )
        assert plain.status_code == 415

        answer = await client.get("/apiv1/cores", headers=ADMIN)
        assert answer.status_code == 200
        assert answer.headers["Cores-Unavailable-Nodes"] == "worker-1"
        assert [c["pod"] for c in answer.json()] == ["crasher-a"]
        whole = await client.get("/apiv1/cores?format=object", headers=ADMIN)
        body = whole.json()
        assert list(body["unavailable_nodes"]) == ["worker-1"]
        assert "worker-1" in body["unavailable_nodes"]["worker-1"]
        assert [c["pod"] for c in body["cores"]] == ["crasher-a"]
        assert SECRET not in whole.text
