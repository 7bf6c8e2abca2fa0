"""The fake API the image tests run against: it needs the token and serves seed objects."""

from __future__ import annotations

import pytest
from aiohttp import ClientSession

from support.fakeapi import TOKEN, Served, fake_api

__all__ = ["fake_api"]


@pytest.mark.asyncio
async def test_fake_api_needs_the_token_and_serves_seed_objects(fake_api: Served) -> None:
    base = f"http://127.0.0.1:{fake_api.port}"
    async with ClientSession() as session:
        async with session.get(f"{base}/api/v1/nodes") as response:
            assert response.status == 401
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with session.get(f"{base}/api/v1/nodes", headers=headers) as response:
            names = [n["metadata"]["name"] for n in (await response.json())["items"]]
        assert names == ["master-0", "master-1", "master-2", "worker-0", "worker-1"]
        url = f"{base}/api/v1/namespaces/migration-demo/pods?labelSelector=vmID%20in%20(vm-2001)"
        async with session.get(url, headers=headers) as response:
            pods = (await response.json())["items"]
        assert [p["metadata"]["labels"]["vmID"] for p in pods] == ["vm-2001"]
