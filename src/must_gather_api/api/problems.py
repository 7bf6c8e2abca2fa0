"""The one place where errors become HTTP responses: RFC 9457 problem details.

Every error body is `application/problem+json` with `type`, `title`, `status` and a
`detail` a person can act on; an invalid parameter also names its `field`. No
response carries a stack trace, and an unexpected error is logged and answered 500
without its message (which might hold anything).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from must_gather_api import errors

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_STATUS: list[tuple[type[errors.MustGatherError], int]] = [
    (errors.RequestTooLarge, 413),
    (errors.InvalidRequest, 400),
    (errors.GatheringNotFound, 404),
    (errors.ArchiveNotAvailable, 404),
    (errors.Conflict, 409),
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.TooManyRequests, 429),
    (errors.StoreUnavailable, 503),
    (errors.AuthUnavailable, 503),
    (errors.ServiceStopping, 503),
]


def problem(
    status: int, detail: str, *, retry_after: int | None = None, **extra: Any
) -> JSONResponse:
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status}
    body["detail"] = detail
    body.update(extra)
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 503 and retry_after is None:
        retry_after = 5
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _status_of(error: errors.MustGatherError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def _field_of(location: tuple[int | str, ...]) -> str:
    names = [str(part) for part in location if part not in ("body", "query", "path")]
    return ".".join(names) or "body"


def _validation_detail(raw: list[Any]) -> tuple[str, str]:
    first = raw[0]
    field = _field_of(tuple(first.get("loc", ())))
    kind = first.get("type", "")
    if kind == "extra_forbidden":
        message = "is not a parameter that can be set"
    elif kind == "missing":
        message = "is required"
    else:
        message = str(first.get("msg", "is invalid")).removeprefix("Value error, ")
    return field, f"{field}: {message}"


async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    if not isinstance(error, errors.MustGatherError):
        return await _unexpected(_request, error)
    status = _status_of(error)
    extra: dict[str, Any] = {}
    if isinstance(error, errors.InvalidParameter):
        extra["field"] = error.field
    if status >= 500:
        log.warning("answering %d: %s", status, error.message)
    retry_after = error.retry_after if isinstance(error, errors.TooManyRequests) else None
    return problem(status, error.message, retry_after=retry_after, **extra)


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    if not isinstance(error, RequestValidationError | ValidationError):
        return await _unexpected(_request, error)
    field, detail = _validation_detail(list(error.errors()))
    return problem(400, detail, field=field)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    if not isinstance(error, StarletteHTTPException):
        return await _unexpected(request, error)
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
    if error.status_code == 404 and detail == "Not Found":
        detail = f"there is nothing at {request.url.path}; see /docs for the API"
    elif error.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return problem(error.status_code, detail)


async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
    log.error("unexpected error", exc_info=error)
    return problem(500, "the service failed unexpectedly; the error is in its log")


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.MustGatherError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
