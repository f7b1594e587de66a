"""The I/O-free half of the client, shared by :mod:`.sync` and :mod:`.aio` (waits: :mod:`.waiting`).

Both clients build the same requests from the same parameters and read the same answers; only
the sending differs (``httpx.Client`` vs ``httpx.AsyncClient``, ``time.sleep`` vs
``asyncio.sleep``). Everything that decides *what* to send and *what an answer means* lives here,
so the two clients cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, TypeVar
from urllib.parse import quote

import httpx

from service.client.errors import MailhookError, ServerUnavailable, error_for_status
from service.client.models import Address, Summary

DEFAULT_URL = "http://127.0.0.1:8000"
API_PREFIX = "/api/v1"
USER_AGENT = "mailhook-client/0.1"

Since = str | datetime
T = TypeVar("T")


class MessageFilters(TypedDict, total=False):
    """Filters of ``messages()``; ``to`` as a base address also matches its plus-addresses."""

    to: str
    from_: str
    subject: str
    text: str
    tag: str
    source: str
    status: str
    since: Since
    until: Since
    page_size: int
    limit: int


class WaitOptions(TypedDict, total=False):
    """What ``wait_for_code`` and ``wait_for_link`` pass on to the wait (see ``wait_for_message``)."""

    from_: str | None
    subject: str | None
    since: Since | None
    timeout: float
    claim: bool


@dataclass(frozen=True)
class ClientConfig:
    """Where Mailhook is and how to authenticate; arguments win over ``MAILHOOK_URL``/``MAILHOOK_TOKEN``."""

    url: str
    token: str | None
    timeout: float

    @classmethod
    def resolve(
        cls, url: str | None, token: str | None, timeout: float, environ: Mapping[str, str] | None = None
    ) -> ClientConfig:
        env = os.environ if environ is None else environ
        base = (url or env.get("MAILHOOK_URL") or DEFAULT_URL).rstrip("/")
        try:
            parsed = httpx.URL(base)
        except httpx.InvalidURL as exc:
            raise MailhookError(f"the Mailhook URL {base!r} is not a URL: {exc}") from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise MailhookError(f"the Mailhook URL {base!r} must look like http(s)://HOST[:PORT]")
        return cls(url=base, token=token or env.get("MAILHOOK_TOKEN") or None, timeout=timeout)

    def headers(self) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers


def message_path(message_id: str, suffix: str = "") -> str:
    return f"/messages/{quote(str(message_id), safe='')}{suffix}"


def address_path(address: str) -> str:
    return f"/addresses/{quote(address, safe='@+')}"


def since_text(value: Since) -> str:
    return value.isoformat() if isinstance(value, datetime) else value


def page_params(filters: MessageFilters, cursor: str | None) -> dict[str, str]:
    """Query parameters for one page of ``GET /messages`` (``limit`` is the client's own total cap)."""
    params: dict[str, str] = {}
    for key in ("to", "subject", "text", "tag", "source", "status"):
        if filters.get(key) is not None:
            params[key] = str(filters[key])
    if filters.get("from_") is not None:
        params["from"] = filters["from_"]
    for key, value in (("since", filters.get("since")), ("until", filters.get("until"))):
        if value is not None:
            params[key] = since_text(value)
    if filters.get("page_size") is not None:
        params["limit"] = str(filters["page_size"])
    if cursor is not None:
        params["cursor"] = cursor
    return params


def parse_page(body: dict[str, Any]) -> tuple[list[Summary], str | None]:
    items = body.get("items")
    if not isinstance(items, list):
        raise MailhookError("unexpected answer from Mailhook: a message page without 'items'")
    next_cursor = body.get("next_cursor")
    return [Summary.from_json(item) for item in items], str(next_cursor) if next_cursor else None


def parse_addresses(body: Any) -> list[Address]:
    """``GET /addresses`` as ``{"items": [...]}`` (like messages) or a bare list."""
    items = body.get("items") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise MailhookError("unexpected answer from Mailhook: an address list without 'items'")
    return [Address.from_json(item) for item in items]


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
