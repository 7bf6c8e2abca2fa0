"""Bearer tokens checked by the cluster: a TokenReview, then a SubjectAccessReview.

401 for a missing, malformed, invalid or expired token; 403 for a valid token
without the permission; 503 when the API server cannot answer. It never fails open,
and the token never appears in a log, a message or a stored record.
"""

from __future__ import annotations

import logging

from must_gather_api.auth.base import Caller
from must_gather_api.auth.decisions import DecisionCache, token_key
from must_gather_api.errors import AuthUnavailable, Forbidden, Unauthenticated
from must_gather_api.kube.access import ApiClient, ClusterAccess
from must_gather_api.kube.reviews import ReviewedUser, ReviewFailed, review_access, review_token
from must_gather_api.settings import Permission, ReviewAs, Settings

log = logging.getLogger(__name__)

MISSING = "this API needs a bearer token: send 'Authorization: Bearer <token>' (oc whoami -t)"
MALFORMED = "the Authorization header must be 'Bearer <token>'"
INVALID = "the bearer token is not valid or has expired; log in again for a new one"


def bearer_token(authorization: str | None) -> str:
    if not authorization or not authorization.strip():
        raise Unauthenticated(MISSING)
    parts = authorization.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        raise Unauthenticated(MALFORMED)
    return parts[1]


def _describe(permission: Permission) -> str:
    group = permission.group or "core"
    return (
        f"{permission.verb} {permission.resource} (group {group}) "
        f"in namespace {permission.namespace or 'all'}"
    )


class KubernetesAuthenticator:
    def __init__(self, *, access: ClusterAccess, settings: Settings) -> None:
        self._access = access
        self._review_as = settings.auth_review_as
        self._permission = settings.required_permission
        self._admin_permission = settings.admin_permission
        self._timeout = settings.cluster_request_timeout.total_seconds()
        self._cache = DecisionCache(ttl=settings.auth_cache_ttl.total_seconds())
        self._service_client = access.api_client() if self._review_as is ReviewAs.SERVICE else None

    @classmethod
    async def create(cls, settings: Settings) -> KubernetesAuthenticator:
        return cls(access=await ClusterAccess.load(settings), settings=settings)

    async def close(self) -> None:
        if self._service_client is not None:
            await self._service_client.close()

    async def authenticate(self, authorization: str | None) -> Caller:
        token = bearer_token(authorization)
        return await self._cache.decide(token_key(token), lambda: self._review(token))

    async def _review(self, token: str) -> Caller:
        api = self._service_client or self._access.api_client(token=token)
        try:
            try:
                user = await review_token(api, token, request_timeout=self._timeout)
            except ReviewFailed as e:
                raise self._refused(e, "tokenreviews", "review the token") from None
            if user is None:
                raise Unauthenticated(INVALID)
            if not await self._allowed(api, user, self._permission):
                raise Forbidden(
                    f"user {user.username!r} may not use this API: it needs permission to "
                    f"{_describe(self._permission)} (by default, cluster-admin)"
                )
            is_admin = self._admin_permission == self._permission or await self._allowed(
                api, user, self._admin_permission
            )
        finally:
            if api is not self._service_client:
                await api.close()
        return Caller(
            user=user.username,
            groups=user.groups,
            token=token,
            is_admin=is_admin,
            uid=user.uid,
            extra=user.extra,
        )

    async def may(self, caller: Caller, permission: Permission) -> bool:
        api = self._service_client or self._access.api_client(token=caller.token)
        user = ReviewedUser(
            username=caller.user, uid=caller.uid, groups=caller.groups, extra=caller.extra
        )
        try:
            return await self._allowed(api, user, permission)
        finally:
            if api is not self._service_client:
                await api.close()

    async def _allowed(self, api: ApiClient, user: ReviewedUser, permission: Permission) -> bool:
        try:
            return await review_access(api, user, permission, request_timeout=self._timeout)
        except ReviewFailed as e:
            raise self._refused(e, "subjectaccessreviews", "review the caller's access") from None

    def _refused(self, error: ReviewFailed, resource: str, action: str) -> Exception:
        """What a failed review means for the caller: with AUTH_REVIEW_AS=caller the API
        server itself judged the caller's token; otherwise the service cannot check now."""
        if self._review_as is ReviewAs.CALLER:
            if error.status == 401:
                return Unauthenticated(INVALID)
            if error.status == 403:
                return Forbidden(
                    f"the caller may not create {resource}, which this service needs of its "
                    "callers (AUTH_REVIEW_AS=caller); cluster-admins can"
                )
        # Only the error's description is logged: the request body holds the token.
        detail = error.detail
        if error.status in (401, 403) and self._review_as is ReviewAs.SERVICE:
            detail += "; the service's account needs the system:auth-delegator cluster role"
        log.warning("cannot %s: %s", action, detail)
        return AuthUnavailable(f"cannot check the caller now: {detail}; try again shortly")
