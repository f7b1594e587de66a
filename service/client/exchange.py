"""What an answer means: an :class:`~service.client.operations.Operation`'s result, or a typed error.

Nothing here sends anything. The clients hand over the ``httpx.Response`` they got (or the
``httpx.RequestError`` they caught) and get back a result or a
:class:`~service.client.errors.MailhookError`; no httpx exception escapes to a caller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from service.client.config import ClientConfig
from service.client.errors import MailhookError, ServerUnavailable, error_for_status
from service.client.operations import Operation

T = TypeVar("T")


def result(operation: Operation[T], response: httpx.Response, config: ClientConfig) -> T:
    """The operation's result from its 2xx answer (or one in ``also_ok``); a typed error for any other."""
    if response.status_code not in operation.also_ok:
        check(response, config)
    if operation.body == "bytes":
        return operation.read(response.content)
    if operation.body == "empty":
        return operation.read(None)
    return parse(operation.read, response)


def transport_error(exc: httpx.RequestError, url: str) -> MailhookError:
    """A request that got no usable answer, as the one error callers catch, naming where we tried."""
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return ServerUnavailable(f"Mailhook at {url} did not answer in time ({type(exc).__name__})")
    if isinstance(exc, httpx.TransportError):
        return ServerUnavailable(f"cannot reach Mailhook at {url}: {reason}")
    return MailhookError(f"bad answer from Mailhook at {url}: {reason}")  # redirect loops, broken encodings


def error_from_response(response: httpx.Response, config: ClientConfig) -> MailhookError:
    """Build the error for a non-2xx answer from the server's ``{error, message, details}`` body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    code = body.get("error") if isinstance(body.get("error"), str) else None
    text = body.get("message") if isinstance(body.get("message"), str) else None
    details = body.get("details") if isinstance(body.get("details"), dict) else {}
    message = text or response.reason_phrase or "error"
    suffix = f"HTTP {response.status_code} from {response.request.method} {response.request.url.path}"
    if response.status_code == 401 and not config.token:
        suffix += "; no token given: set MAILHOOK_TOKEN"
    error_class = error_for_status(response.status_code)
    return error_class(f"{message} ({suffix})", status=response.status_code, error=code, details=details)


def check(response: httpx.Response, config: ClientConfig) -> httpx.Response:
    if response.is_success:
        return response
    raise error_from_response(response, config)


def json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise MailhookError(f"unexpected answer from Mailhook: not JSON ({response.status_code})") from exc


def parse(build: Callable[[Any], T], response: httpx.Response) -> T:
    """Read a 2xx answer into a model; a shape the client cannot read is a MailhookError, not a KeyError."""
    try:
        return build(json_body(response))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        path = response.request.url.path
        raise MailhookError(f"unexpected answer from Mailhook to {path}: {type(exc).__name__} {exc}") from exc
