"""Users: bearer tokens mapped to users and groups, service-account tokens, and the audit log."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from kubesim import kinds
from kubesim.errors import NotFound

if TYPE_CHECKING:
    from kubesim.store import Store

# Well-known test credentials of a simulated cluster, documented for users; not secrets.
ADMIN_TOKEN = "admin-token"  # noqa: S105
USER_TOKEN = "user-token"  # noqa: S105
AUTHENTICATED = "system:authenticated"
SA_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...]
    uid: str = ""


ADMIN = User("kube:admin", (AUTHENTICATED, "system:cluster-admins"), uid="admin-uid")
DEVELOPER = User("developer", (AUTHENTICATED,), uid="developer-uid")
ANONYMOUS = User("system:anonymous", ("system:unauthenticated",))


class AuditRecord(NamedTuple):
    """One API request as the server understood it (tokens are never recorded)."""

    verb: str
    group: str
    resource: str
    subresource: str
    namespace: str
    name: str
    user: str


def service_account_user(namespace: str, name: str) -> User:
    return User(
        f"{SA_PREFIX}{namespace}:{name}",
        ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED),
    )


class Users:
    """Token -> user. Service-account tokens stop working once their account is deleted."""

    def __init__(self, *, store: Store | None = None) -> None:
        self._store = store
        self._tokens: dict[str, User] = {ADMIN_TOKEN: ADMIN, USER_TOKEN: DEVELOPER}
        self._sa_tokens: dict[tuple[str, str], str] = {}
        self._revoked: set[str] = set()

    def add(self, token: str, user: User) -> None:
        self._tokens[token] = user
        self._revoked.discard(token)

    def revoke(self, token: str) -> None:
        self._revoked.add(token)

    def restore(self, token: str) -> None:
        self._revoked.discard(token)

    @property
    def revoked(self) -> frozenset[str]:
        return frozenset(self._revoked)

    def authenticate(self, token: str) -> User | None:
        """The user a bearer token stands for, or None (unknown, revoked or orphaned)."""
        if token in self._revoked:
            return None
        user = self._tokens.get(token)
        if user is None or not user.name.startswith(SA_PREFIX) or self._store is None:
            return user
        namespace, _, name = user.name.removeprefix(SA_PREFIX).partition(":")
        try:
            self._store.get(kinds.SERVICE_ACCOUNTS, name, namespace=namespace)
        except NotFound:
            return None
        return user

    def token_for_service_account(self, namespace: str, name: str) -> str:
        """A bearer token for ``system:serviceaccount:<ns>:<name>``, the same on every call."""
        token = self._sa_tokens.get((namespace, name))
        if token is None or token in self._revoked:
            token = f"sa-token-{namespace}-{name}-{secrets.token_hex(8)}"
            self._sa_tokens[(namespace, name)] = token
            self._tokens[token] = service_account_user(namespace, name)
        return token
