"""Mailhook's exception hierarchy and the one table that maps it to HTTP answers.

    MailhookError
    ├── Unauthorized          401  wrong/unknown secret or bad signature (same answer for both)
    ├── Forbidden             403  caller IP not in the source's allow-list
    ├── PayloadTooLarge       413  body over the limit
    ├── BadPayload            400  malformed JSON/MIME or not the provider's shape
    ├── BadParameter          400  an API query parameter that is unknown or malformed (details.parameter)
    ├── UnsupportedMediaType  415  wrong content type for the provider
    ├── NotFound              404
    ├── WaitTimeout           408  ``GET /api/v1/wait`` saw no matching message in time (details say what)
    ├── ProviderFailed        502  an address provider's API refused or failed (``/api/v1/addresses``)
    ├── StorageUnavailable    503  database down; the provider should retry
    └── UpstreamUnavailable   503  a service we must ask first (SNS certificates) is unreachable

Providers retry on 5xx and give up on 4xx, so only our own outages may produce 5xx.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ExceptionHandler

from service.mail.storable import scrub

log = logging.getLogger("mailhook.errors")


class MailhookError(Exception):
    """Base of the errors we answer on purpose; a subclass names its HTTP status and error code
    in the class statement (``class NotFound(MailhookError, status_code=404, code="not_found")``)."""

    status_code = 500
    code = "internal_error"

    def __init_subclass__(cls, *, status_code: int | None = None, code: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status_code is not None:
            cls.status_code = status_code
        if code is not None:
            cls.code = code

    def __init__(self, message: str, *, details: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers


class Unauthorized(MailhookError, status_code=401, code="unauthorized"):
    """A wrong or unknown secret and a bad signature get the same answer: nothing to probe."""


class Forbidden(MailhookError, status_code=403, code="forbidden"):
    """The caller's IP is not in the source's allow-list."""


class PayloadTooLarge(MailhookError, status_code=413, code="payload_too_large"):
    """The body is over the source's (or the server's) limit."""


class BadPayload(MailhookError, status_code=400, code="bad_payload"):
    """Malformed JSON, form or MIME, or not the provider's shape: a retry cannot fix it."""


class UnsupportedMediaType(MailhookError, status_code=415, code="unsupported_media_type"):
    """The request's content type is not one the provider sends."""


class BadParameter(MailhookError, status_code=400, code="bad_parameter"):
    """An API query parameter that is unknown or malformed (``details.parameter`` names it)."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message, details={"parameter": parameter})


class NotFound(MailhookError, status_code=404, code="not_found"):
    """No such hook, source or record."""


class WaitTimeout(MailhookError, status_code=408, code="timeout"):
    """``GET /api/v1/wait`` saw no matching message in time (``details`` say what it waited for)."""


class ProviderFailed(MailhookError, status_code=502, code="provider_error"):
    """An address provider's API refused or failed (``/api/v1/addresses``)."""


class StorageUnavailable(MailhookError, status_code=503, code="storage_unavailable"):
    """The database is down: a 5xx makes the provider (or SMTP client) retry later."""


class UpstreamUnavailable(MailhookError, status_code=503, code="upstream_unavailable"):
    """A service we must ask first (SNS signing certificates) is unreachable: retry later."""


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The JSON error body. Messages may quote a field name from the delivery, which may hold a
    lone surrogate: scrubbed, or rendering the 400 would itself fail with a 500."""
    body: dict[str, Any] = {"error": code, "message": scrub(message)}
    if details is not None:
        body["details"] = scrub(details)
    return body


async def mailhook_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MailhookError)
    headers = exc.headers or (
        {"Retry-After": "30"} if isinstance(exc, StorageUnavailable | UpstreamUnavailable) else None
    )
    return JSONResponse(error_body(exc.code, exc.message, exc.details), exc.status_code, headers=headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse(error_body(f"http_{exc.status_code}", str(exc.detail)), exc.status_code, headers=exc.headers)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """Last resort: log it (Sentry picks it up, scrubbed) and answer without a traceback."""
    # The route template, never the URL: hook URLs carry the source secret.
    route = getattr(request.scope.get("route"), "path", "?")
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, route, exc_info=exc)
    # Starlette re-raises after this response and uvicorn then closes the connection: say so,
    # or a keep-alive client (a provider's pool) sends its next delivery into a closed socket.
    return JSONResponse(
        error_body("internal_error", "internal error; it has been logged"), 500, headers={"Connection": "close"}
    )


EXCEPTION_HANDLERS: dict[type[Exception], ExceptionHandler] = {
    MailhookError: mailhook_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}
