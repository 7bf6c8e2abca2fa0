"""A gathering's ``NamespaceLedger`` on the store: the names of its temporary namespaces,
written before each is created and crossed out once deleted, so they survive a crash."""

from __future__ import annotations

from dataclasses import dataclass

from must_gather_api.gatherings.store import GatheringStore


@dataclass(frozen=True)
class StoredLedger:
    store: GatheringStore
    gathering_id: int

    async def creating(self, name: str) -> None:
        await self.store.record_namespace(self.gathering_id, name)

    async def removed(self, name: str) -> None:
        await self.store.forget_namespace(name)

    async def recorded(self) -> tuple[str, ...]:
        found = await self.store.recorded_namespaces(self.gathering_id)
        return tuple(name for _, name in found)
