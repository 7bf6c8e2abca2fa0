"""Calls on a gathering of a ``ServiceProcess`` as a client makes them, for the tests that
kill, stop and restart service processes (tests/reliability)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import httpx2

from support.processes import ADMIN_TOKEN, ServiceProcess

FINISHED = {"completed", "error"}


class Reachable(Protocol):
    """A replica (ServiceProcess) or the balancer in front of several (support.balancer)."""

    @property
    def url(self) -> str: ...


def client_for(service: Reachable) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        base_url=service.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30
    )


async def post(service: Reachable, body: dict[str, Any]) -> int:
    async with client_for(service) as api:
        response = await api.post("/must-gather", json=body)
        assert response.status_code == 201, response.text
        gathering_id: int = response.json()["id"]
        return gathering_id


async def poll(
    service: Reachable,
    gathering_id: int,
    check: Callable[[dict[str, Any]], bool],
    *,
    within: float = 60,
    interval: float = 0.05,
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    async with client_for(service) as api:
        while True:
            record: dict[str, Any] = (await api.get(f"/must-gather/{gathering_id}")).json()
            if check(record):
                return record
            assert loop.time() < deadline, f"gathering {gathering_id} stuck: {record}"
            await asyncio.sleep(interval)  # polling another process, as a client does


def says(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda record: text in record["exec-output"]


async def log_says(service: ServiceProcess, text: str, *, within: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while text not in service.log():
        assert loop.time() < deadline, f"the service never logged {text!r}:\n{service.log()}"
        await asyncio.sleep(0.05)  # the other process's log: no event to wait on


async def first_to_say(
    services: list[ServiceProcess], text: str, *, within: float = 30
) -> ServiceProcess:
    """The first of ``services`` whose log says ``text``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        said = [service for service in services if text in service.log()]
        if said:
            return said[0]
        assert loop.time() < deadline, f"none of the services logged {text!r}"
        await asyncio.sleep(0.05)  # the other processes' logs: no event to wait on


async def file_appears(path: Path, *, within: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not path.exists():
        assert loop.time() < deadline, f"{path} never appeared"
        await asyncio.sleep(0.01)  # the other process's file: no event to wait on


async def everything_settles(service: Reachable, ids: list[int]) -> list[dict[str, Any]]:
    """Each record ends completed or error-with-a-reason; each archive matches its sha256."""
    records = [
        await poll(service, i, lambda r: r["status"] in FINISHED, within=90, interval=0.2)
        for i in ids
    ]
    async with client_for(service) as api:
        listed = (await api.get("/must-gather")).json()
        assert sorted(g["id"] for g in listed) == sorted(ids), "a record was lost"
        for record in records:
            if record["status"] == "error":
                assert record["error-reason"], record
            if record["archive-size"]:
                digest = hashlib.sha256()
                async with api.stream("GET", f"/must-gather/{record['id']}/data") as response:
                    assert response.status_code == 200
                    async for chunk in response.aiter_bytes():
                        digest.update(chunk)
                assert digest.hexdigest() == record["archive-sha256"], record["id"]
            else:
                data = await api.get(f"/must-gather/{record['id']}/data")
                assert data.status_code == 404
    return records
