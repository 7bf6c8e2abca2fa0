"""What the API server's handlers share: the store, users, faults, the audit log, open watches."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

from kubesim import kinds
from kubesim.auth import AuditRecord, User, Users
from kubesim.faults import Faults
from kubesim.kinds import Kind
from kubesim.rbac import Authorizer
from kubesim.server.paging import Pager
from kubesim.server.routing import RequestInfo
from kubesim.store import Store, Watch


@dataclass
class ServerState:
    store: Store
    users: Users
    faults: Faults
    openshift: bool
    audit: list[AuditRecord] = field(default_factory=list)
    # Set once the server knows its own address (for /api's serverAddressByClientCIDRs).
    address: str = "127.0.0.1:0"
    watches: set[Watch] = field(default_factory=set)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.served: tuple[Kind, ...] = kinds.served_kinds(openshift=self.openshift)
        self.authorizer = Authorizer(self.store)
        self.pager = Pager(self.store)

    def serves(self, kind: Kind | None) -> bool:
        return kind is not None and kind in self.served

    def close_watches(self) -> None:
        self.stopping.set()
        for w in list(self.watches):
            w.close()


STATE_KEY: web.AppKey[ServerState] = web.AppKey("kubesim_server_state", ServerState)
# Per-request values the middleware works out for the handlers.
INFO_KEY: web.RequestKey[RequestInfo] = web.RequestKey("kubesim_request_info", RequestInfo)
USER_KEY: web.RequestKey[User] = web.RequestKey("kubesim_user", User)
