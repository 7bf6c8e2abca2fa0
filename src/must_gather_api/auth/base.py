"""The interface the HTTP layer uses to authenticate and authorize a caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from must_gather_api.settings import Permission


@dataclass(frozen=True)
class Caller:
    """An authenticated caller. ``token`` is kept for the gathering's cluster calls only;
    ``repr`` never shows it."""

    user: str
    groups: tuple[str, ...] = ()
    token: str = field(default="", repr=False)
    is_admin: bool = True
    uid: str = ""
    # The TokenReview's extra (OpenShift puts token scopes there): kept for later reviews.
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()


ANONYMOUS = Caller(user="", is_admin=True)


class Authenticator(Protocol):
    async def authenticate(self, authorization: str | None) -> Caller:
        """The caller behind an Authorization header.

        Raises Unauthenticated, Forbidden or AuthUnavailable.
        """
        ...

    async def may(self, caller: Caller, permission: Permission) -> bool:
        """Whether the cluster grants ``caller`` this permission (a SubjectAccessReview).

        Raises AuthUnavailable when the cluster cannot answer.
        """
        ...

    async def close(self) -> None: ...


class NoAuthentication:
    """AUTH=none: every caller is let in (the service must listen on loopback only)."""

    async def authenticate(self, authorization: str | None) -> Caller:  # noqa: ARG002
        return ANONYMOUS

    async def may(self, caller: Caller, permission: Permission) -> bool:  # noqa: ARG002
        return True

    async def close(self) -> None:
        return None
