"""What the client raises. Every failure is a :class:`MailhookError`; no httpx exception escapes.

::

    MailhookError                 anything that went wrong talking to Mailhook
    ├── BadRequest                400: a parameter the server refused (``details["parameter"]``)
    ├── Unauthorized              401: no token, or a wrong or revoked one
    ├── Forbidden                 403: the token lacks the scope (delete, replay, addresses and
    │                             changes to the suppression list need admin)
    ├── NotFound                  404: no such message, attachment, address or suppressed address
    ├── ServerUnavailable         5xx, a connection failure, or no answer in time
    └── WaitTimeout               nothing matching arrived before the caller's own deadline
                                  (also a ``TimeoutError``)

Errors built from a response carry the server's ``{"error", "message", "details"}`` body as
``error``, ``message`` and ``details``, and the HTTP ``status``.
"""

from __future__ import annotations

from typing import Any


class MailhookError(Exception):
    """Base of every client error; ``status`` is None when no HTTP answer was received."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error = error
        self.details: dict[str, Any] = details or {}


class BadRequest(MailhookError):
    """The server refused a parameter; ``details.get("parameter")`` names it."""


class Unauthorized(MailhookError):
    """No token, or one the server does not know (set ``MAILHOOK_TOKEN``)."""


class Forbidden(MailhookError):
    """The token is valid but lacks the scope (``admin`` for delete, replay, addresses and suppressions)."""


class NotFound(MailhookError):
    """The message, attachment, address or suppression does not exist (or was deleted)."""


class ServerUnavailable(MailhookError):
    """Mailhook could not be reached, did not answer in time, or answered 5xx."""


class WaitTimeout(MailhookError, TimeoutError):
    """Nothing matching arrived before the deadline; the message says what was waited for."""


#: Status code -> error class for error answers; other statuses become a plain MailhookError
#: (and every 5xx a ServerUnavailable).
STATUS_ERRORS: dict[int, type[MailhookError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
}


def error_for_status(status: int) -> type[MailhookError]:
    if status >= 500:
        return ServerUnavailable
    return STATUS_ERRORS.get(status, MailhookError)
