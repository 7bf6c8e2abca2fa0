"""Bearer tokens checked by the cluster: a TokenReview, then a SubjectAccessReview.

401 for a missing, malformed, invalid or expired token; 403 for a valid token
without the permission; 503 when the API server cannot answer. It never fails open,
and the token never appears in a log, a message or a stored record.
"""

from __future__ import annotations

import logging
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from must_gather_api.auth.base import Caller
from must_gather_api.auth.decisions import DecisionCache, token_key
from must_gather_api.errors import AuthUnavailable, Forbidden, Unauthenticated
from must_gather_api.kube import failures
from must_gather_api.kube.access import ClusterAccess
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
            user = await self._token_review(api, token)
            if not await self._allowed(api, user, self._permission):
                raise Forbidden(
                    f"user {user['username']!r} may not use this API: it needs permission to "
                    f"{_describe(self._permission)} (by default, cluster-admin)"
                )
            is_admin = self._admin_permission == self._permission or await self._allowed(
                api, user, self._admin_permission
            )
        finally:
            if api is not self._service_client:
                await api.close()
        return Caller(
            user=str(user["username"]),
            groups=tuple(user.get("groups") or ()),
            token=token,
            is_admin=is_admin,
            uid=str(user.get("uid") or ""),
            extra=tuple(
                (str(key), tuple(str(v) for v in values or ()))
                for key, values in sorted(user["extra"].items())
            ),
        )

    async def may(self, caller: Caller, permission: Permission) -> bool:
        api = self._service_client or self._access.api_client(token=caller.token)
        user = {
            "username": caller.user,
            "uid": caller.uid or None,
            "groups": list(caller.groups),
            "extra": {key: list(values) for key, values in caller.extra},
        }
        try:
            return await self._allowed(api, user, permission)
        finally:
            if api is not self._service_client:
                await api.close()

    async def _token_review(self, api: client.ApiClient, token: str) -> dict[str, Any]:
        body = client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token))
        try:
            review = await client.AuthenticationV1Api(api).create_token_review(
                body, _request_timeout=self._timeout
            )
        except ApiException as e:
            self._caller_refused(e, "tokenreviews")
            raise self._unavailable("review the token", e) from None
        except failures.UNREACHABLE as e:
            raise self._unavailable("review the token", e) from None
        status = review.status
        if status is None or not status.authenticated or status.user is None:
            raise Unauthenticated(INVALID)
        user = status.user
        return {
            "username": user.username or "",
            "uid": user.uid,
            "groups": list(user.groups or []),
            "extra": dict(user.extra or {}),
        }

    async def _allowed(
        self, api: client.ApiClient, user: dict[str, Any], permission: Permission
    ) -> bool:
        body = client.V1SubjectAccessReview(
            spec=client.V1SubjectAccessReviewSpec(
                user=user["username"],
                uid=user["uid"],
                groups=user["groups"],
                # OpenShift puts token scopes in extra: they must stay in force.
                extra=user["extra"],
                resource_attributes=client.V1ResourceAttributes(
                    verb=permission.verb,
                    group=permission.group,
                    resource=permission.resource,
                    namespace=permission.namespace,
                ),
            )
        )
        try:
            review = await client.AuthorizationV1Api(api).create_subject_access_review(
                body, _request_timeout=self._timeout
            )
        except ApiException as e:
            self._caller_refused(e, "subjectaccessreviews")
            raise self._unavailable("review the caller's access", e) from None
        except failures.UNREACHABLE as e:
            raise self._unavailable("review the caller's access", e) from None
        return bool(review.status and review.status.allowed)

    def _caller_refused(self, error: ApiException, resource: str) -> None:
        """With AUTH_REVIEW_AS=caller the API server itself judges the caller's token."""
        if self._review_as is not ReviewAs.CALLER:
            return
        if error.status == 401:
            raise Unauthenticated(INVALID) from None
        if error.status == 403:
            raise Forbidden(
                f"the caller may not create {resource}, which this service needs of its "
                "callers (AUTH_REVIEW_AS=caller); cluster-admins can"
            ) from None

    def _unavailable(self, action: str, error: BaseException) -> AuthUnavailable:
        # Only the error's description is logged: the request body holds the token.
        detail = failures.describe(error)
        if isinstance(error, ApiException) and error.status in (401, 403):
            detail += (
                "; the service's account needs the system:auth-delegator cluster role"
                if self._review_as is ReviewAs.SERVICE
                else ""
            )
        log.warning("cannot %s: %s", action, detail)
        return AuthUnavailable(f"cannot check the caller now: {detail}; try again shortly")
