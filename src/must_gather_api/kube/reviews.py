"""TokenReviews and SubjectAccessReviews: who a token belongs to, and what they may do.

The calls and their errors stay here, in Kubernetes terms; ``auth/`` decides what an
answer means for a caller of this service.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from must_gather_api.kube import failures
from must_gather_api.settings import Permission


@dataclass(frozen=True)
class ReviewedUser:
    """The user a TokenReview found; ``extra`` carries OpenShift's token scopes."""

    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())


class ReviewFailed(Exception):
    """The review could not be made: ``status`` is the API server's answer, or None when
    it did not answer at all; ``detail`` says so in words."""

    def __init__(self, detail: str, *, status: int | None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


def _failed(error: BaseException) -> ReviewFailed:
    status = error.status if isinstance(error, ApiException) else None
    return ReviewFailed(failures.describe(error), status=status)


async def review_token(
    api: client.ApiClient, token: str, *, request_timeout: float
) -> ReviewedUser | None:
    """The token's user, or None when the token is not valid (or has expired)."""
    body = client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token))
    try:
        review = await client.AuthenticationV1Api(api).create_token_review(
            body, _request_timeout=request_timeout
        )
    except (ApiException, *failures.UNREACHABLE) as e:
        raise _failed(e) from None  # the request body holds the token: keep it out of tracebacks
    status = review.status
    if status is None or not status.authenticated or status.user is None:
        return None
    user = status.user
    return ReviewedUser(
        username=user.username or "",
        uid=user.uid or "",
        groups=tuple(user.groups or ()),
        extra=tuple(
            (str(key), tuple(str(value) for value in values or ()))
            for key, values in sorted((user.extra or {}).items())
        ),
    )


async def review_access(
    api: client.ApiClient, user: ReviewedUser, permission: Permission, *, request_timeout: float
) -> bool:
    """Whether the cluster allows ``user`` the ``permission``."""
    body = client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(
            user=user.username,
            uid=user.uid or None,
            groups=list(user.groups),
            # OpenShift puts token scopes in extra: they must stay in force.
            extra={key: list(values) for key, values in user.extra},
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
            body, _request_timeout=request_timeout
        )
    except (ApiException, *failures.UNREACHABLE) as e:
        raise _failed(e) from None
    return bool(review.status and review.status.allowed)
