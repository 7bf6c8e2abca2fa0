"""The interface the HTTP layer uses to authenticate and authorize a caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Caller:
    """An authenticated caller. ``token`` is kept for the gathering's cluster calls only;
    ``repr`` never shows it."""

    user: str
    groups: tuple[str, ...] = ()
    token: str = field(default="", repr=False)
    is_admin: bool = True


ANONYMOUS = Caller(user="", is_admin=True)


class Authenticator(Protocol):
    async def authenticate(self, authorization: str | None) -> Caller:
        """The caller behind an Authorization header.

        Raises Unauthenticated, Forbidden or AuthUnavailable.
        """
        ...

    async def close(self) -> None: ...


class NoAuthentication:
    """AUTH=none: every caller is let in (the service must listen on loopback only)."""

    async def authenticate(self, authorization: str | None) -> Caller:  # noqa: ARG002
        return ANONYMOUS

    async def close(self) -> None:
        return None
