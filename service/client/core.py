"""The I/O-free half of the client, shared by :mod:`.sync` and :mod:`.aio`.

Both clients build the same requests from the same parameters and read the same answers; only
the sending differs (``httpx.Client`` vs ``httpx.AsyncClient``, ``time.sleep`` vs
``asyncio.sleep``). Everything that decides *what* to send and *what an answer means* lives here,
including the wait loop's state (:class:`WaitPlan`), so the two clients cannot drift apart.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict, TypeVar
from urllib.parse import quote

import httpx

from service.client.errors import MailhookError, ServerUnavailable, WaitTimeout, error_for_status
from service.client.models import Address, Summary, WaitResult

DEFAULT_URL = "http://127.0.0.1:8000"
API_PREFIX = "/api/v1"
USER_AGENT = "mailhook-client/0.1"
#: Gateways answer these while a server restarts or when they cut a long poll; a wait retries them.
TRANSIENT_STATUSES = frozenset({502, 503, 504})
TRANSIENT_PAUSE_S = 0.5

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


LinkMatch = str | re.Pattern[str] | None


@dataclass(frozen=True)
class Want:
    """What a wait is after in a message: ``pick`` returns it, or None to keep waiting."""

    describe: str
    pick: Callable[[Summary], str | None]

    @classmethod
    def message(cls) -> Want:
        return cls("", lambda message: message.id)

    @classmethod
    def code(cls) -> Want:
        return cls(" with a code", lambda message: message.code)

    @classmethod
    def link(cls, match: LinkMatch = None) -> Want:
        if match is None:
            return cls(" with a link", lambda message: next(iter(message.links), None))
        if isinstance(match, str):
            return cls(f" with a link containing {match!r}", lambda m: next((u for u in m.links if match in u), None))
        pattern = match
        return cls(
            f" with a link matching /{pattern.pattern}/",
            lambda m: next((u for u in m.links if pattern.search(u)), None),
        )


@dataclass
class WaitPlan:
    """State of one client-side wait: the deadline, the cursor to resume from, what was skipped.

    The server holds each ``GET /wait`` at most ``max_wait_s`` and then answers 408 with
    ``capped: true`` and a fresh ``cursor``; the plan resumes from that cursor until the caller's
    own deadline. A message that arrives but is not wanted (no code, no matching link) moves the
    cursor past it and is remembered, so the final :class:`WaitTimeout` can say what did arrive.
    """

    to: str
    from_: str | None
    subject: str | None
    since: str | None
    timeout: float
    claim: bool
    want: Want = field(default_factory=Want.message)
    clock: Callable[[], float] = time.monotonic
    skipped: list[Summary] = field(default_factory=list)
    pause: float = 0.0
    last_error: MailhookError | None = None
    deadline: float = 0.0

    def __post_init__(self) -> None:
        if self.timeout < 0:
            raise ValueError("timeout must be >= 0")
        self.deadline = self.clock() + self.timeout

    def remaining(self) -> float:
        return max(0.0, self.deadline - self.clock())

    def expired(self) -> bool:
        return self.clock() >= self.deadline

    def params(self) -> dict[str, str]:
        # Whole seconds, rounded up: the server may accept integers only, and waiting up to a
        # second past the caller's deadline beats giving up before it.
        params = {"to": self.to, "timeout": str(math.ceil(self.remaining()))}
        if self.from_:
            params["from"] = self.from_
        if self.subject:
            params["subject"] = self.subject
        if self.since:
            params["since"] = self.since
        if self.claim:
            params["claim"] = "true"
        return params

    def http_timeout(self, margin: float) -> httpx.Timeout:
        return httpx.Timeout(margin, read=math.ceil(self.remaining()) + margin)

    def on_answer(self, response: httpx.Response, config: ClientConfig) -> WaitResult | None:
        """The result when the answer carries a wanted message; None to ask again."""
        self.pause = 0.0
        if response.status_code == 408:
            details = error_from_response(response, config).details
            self.since = str(details["cursor"]) if details.get("cursor") else self.since
            return None
        if response.status_code in TRANSIENT_STATUSES:
            self.last_error = error_from_response(response, config)
            self.pause = TRANSIENT_PAUSE_S
            return None
        result = parse(WaitResult.from_json, check(response, config))
        self.since, self.last_error = result.cursor, None
        if self.want.pick(result.message) is not None:
            return result
        self.skipped.append(result.message)
        return None

    def give_up(self) -> MailhookError:
        """The error once the deadline has passed: a gateway failure if that is all we got."""
        if self.last_error is not None:
            return self.last_error
        return WaitTimeout(self.describe(), details={"to": self.to, "since": self.since, "timeout": self.timeout})

    def describe(self) -> str:
        what = f"no message{self.want.describe} to {self.to}"
        if self.from_:
            what += f" from {self.from_}"
        if self.subject:
            what += f" with subject containing {self.subject!r}"
        what += f" within {self.timeout:g} s"
        if self.skipped:
            subjects = ", ".join(repr(message.subject or "(no subject)") for message in self.skipped[:5])
            what += f" ({len(self.skipped)} other message(s) arrived: {subjects})"
        return what


def wait_plan(
    to: str,
    want: Want,
    *,
    from_: str | None = None,
    subject: str | None = None,
    since: Since | None = None,
    timeout: float = 60,
    claim: bool = False,
) -> WaitPlan:
    """The plan for one ``wait_for_*`` call (the same defaults in both clients)."""
    cursor = None if since is None else since_text(since)
    return WaitPlan(to, from_, subject, cursor, timeout, claim, want=want)
