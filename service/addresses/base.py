"""The contract every address provider implements, and the HTTP plumbing they share.

A provider module holds only provider facts: its auth header, its paths, its request and response
shapes and where its error message lives. Sending, honouring ``429 Retry-After`` with a bounded
retry, and turning HTTP failures into the typed errors below happen once, here.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import string
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import httpx

from service.addresses.account import AddressAccount
from service.moments import parse_iso, retry_after_seconds

Sleep = Callable[[float], Awaitable[None]]
#: What ``deliver_to`` must be for a provider: our webhook URL, or an address reaching our SMTP ingress.
DeliverTo = Literal["url", "email"]
_LOCAL_ALPHABET = string.ascii_lowercase + string.digits
#: Listing reads at most this many pages, so a misbehaving page count or total cannot loop us forever.
MAX_PAGES = 1000
#: ``read(page, seen)`` of a paged list: the page's items and whether another page follows
#: (``seen``: how many items the earlier pages had).
ReadPage = Callable[[int, int], Awaitable[tuple[list[Any], bool]]]


class AddressError(Exception):
    """Anything that stops an address from being made, listed or removed; ``str()`` is one line."""


class ProviderError(AddressError):
    """The provider answered with an error (or could not be reached); carries its own message."""

    def __init__(self, account: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{account}: {message}")
        self.account = account
        self.status = status


class ProviderAuthError(ProviderError):
    """401/403: the API key is wrong, expired, or lacks the permission (or plan) for this call."""


class ProviderNotFound(ProviderError):
    """404: the address (or the domain/project it lives in) does not exist at the provider."""


class ProviderRateLimited(ProviderError):
    """429 after the bounded retries were spent, or with a wait longer than we are willing to sleep."""

    def __init__(self, account: str, message: str, *, retry_after: float | None) -> None:
        super().__init__(account, message, status=429)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class ProvisionedAddress:
    """An address at a provider: what mail is sent to, and the provider's id used to remove it."""

    address: str
    provider_ref: str
    #: As the provider reports it (naive provider timestamps are taken as UTC); None when it does not say.
    created_at: datetime | None = None


class AddressProvider(ABC):
    """Base for provider adapters; subclasses set the class facts and implement the three calls."""

    name: ClassVar[str]
    #: The real service, used when the account has no ``base_url``.
    default_base_url: ClassVar[str]
    deliver_to: ClassVar[DeliverTo]
    #: Account fields this provider cannot work without (checked when the config is loaded).
    required_fields: ClassVar[tuple[str, ...]] = ("domain",)
    #: Provider-specific account fields this provider reads (others are refused in the config).
    extra_fields: ClassVar[tuple[str, ...]] = ()
    #: Wait before retrying a 429 that carries no ``Retry-After``.
    default_retry_after_s: ClassVar[float] = 1.0

    def __init__(self, account: AddressAccount, http: httpx.AsyncClient, *, sleep: Sleep = asyncio.sleep) -> None:
        self.account = account
        self.http = http
        self.base_url = (account.base_url or self.default_base_url).rstrip("/")
        self._sleep = sleep

    @property
    def api_key(self) -> str:
        return self.account.api_key.get_secret_value()

    def domain_for(self, domain: str | None = None) -> str:
        """The domain an address is made on (``--domain``, else the account's), or listed on."""
        return domain or self.account.domain or ""

    @property
    def target(self) -> str:
        """Where the provider must deliver: our webhook URL (secret in its path) or SMTP recipient."""
        return self.account.deliver_to.get_secret_value()

    @abstractmethod
    async def create(self, local_part: str | None, domain: str | None) -> ProvisionedAddress:
        """Make an address delivering to ``target``; ``None`` parts are chosen by us or the provider."""

    @abstractmethod
    async def delete(self, address: ProvisionedAddress) -> None:
        """Remove the address; raise ``ProviderNotFound`` when the provider no longer has it."""

    @abstractmethod
    async def list(self) -> list[ProvisionedAddress]:
        """The provider's addresses that deliver to ``target`` (others on the account are left out)."""

    @abstractmethod
    def auth_headers(self) -> dict[str, str]:
        """The provider's documented authentication header(s); every request also asks for JSON."""

    def error_message(self, body: Any) -> str | None:
        """The provider's own error text from a parsed JSON error body; override per documented shape."""
        return generic_error_message(body)

    async def call(
        self,
        method: str,
        path: str,
        *,
        expect: tuple[int, ...] = (200,),
        **kwargs: Any,
    ) -> httpx.Response:
        """Send, retry 429s within the account's budget, and raise a typed error unless ``expect``ed."""
        response = await self._send_with_retries(method, self.base_url + path, **kwargs)
        if response.status_code in expect:
            return response
        raise self._error_for(response)

    async def _send_with_retries(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.auth_headers(), "Accept": "application/json", **kwargs.pop("headers", {})}
        attempt = 0
        while True:
            try:
                response = await self.http.request(
                    method, url, headers=headers, timeout=self.account.timeout_s, **kwargs
                )
            except httpx.HTTPError as exc:
                raise ProviderError(self.account.name, f"cannot reach {urlsplit(url).netloc}: {exc!r}") from None
            if response.status_code != 429:
                return response
            wait = retry_after_seconds(response.headers)
            if attempt >= self.account.max_retries or (wait or 0) > self.account.max_retry_wait_s:
                detail = self._detail(response)
                when = f"; the provider asks to wait {wait:g} s" if wait is not None else ""
                raise ProviderRateLimited(
                    self.account.name,
                    f"rate limited by {self.name} (429) after {attempt + 1} attempt(s){when}{detail}",
                    retry_after=wait,
                )
            attempt += 1
            await self._sleep(self.default_retry_after_s if wait is None else wait)

    def _error_for(self, response: httpx.Response) -> ProviderError:
        status = response.status_code
        detail = self._detail(response)
        request = response.request
        what = f"{request.method} {request.url.path} -> {status}"
        if status in (401, 403):
            hint = "check api_key" if status == 401 else "the key lacks permission or the plan lacks the feature"
            message = f"{self.name} refused the API key ({what}; {hint}){detail}"
            return ProviderAuthError(self.account.name, message, status=status)
        if status == 404:
            return ProviderNotFound(self.account.name, f"{self.name}: not found ({what}){detail}", status=status)
        return ProviderError(self.account.name, f"{self.name} error ({what}){detail}", status=status)

    def _detail(self, response: httpx.Response) -> str:
        """ ": <the provider's message>" on one bounded line, our hook URL (a secret) masked if echoed."""
        try:
            message = self.error_message(response.json())
        except ValueError:
            message = response.text
        text = " ".join((message or "").replace(self.target, "<deliver_to>").split())
        return f": {text[:300]}" if text else ""

    def json(self, response: httpx.Response) -> Any:
        """The response body as JSON, or a ``ProviderError`` naming what the provider sent instead."""
        try:
            return response.json()
        except ValueError:
            raise ProviderError(
                self.account.name, f"{self.name} sent a non-JSON {response.status_code} response"
            ) from None

    def shape_error(self, what: str) -> ProviderError:
        return ProviderError(self.account.name, f"{self.name} response is not as documented: {what}")


async def read_pages(
    read: ReadPage, keep: Callable[[dict[str, Any]], ProvisionedAddress | None]
) -> list[ProvisionedAddress]:
    """A paged list, pages 1, 2, … until one is empty or says it is the last (``read``), at
    most ``MAX_PAGES``; ``keep`` turns an item (an object) into an address, or leaves it out."""
    found: list[ProvisionedAddress] = []
    seen = 0
    for page in range(1, MAX_PAGES + 1):
        items, more = await read(page, seen)
        seen += len(items)
        kept = (keep(item) for item in items if isinstance(item, dict))
        found += [address for address in kept if address is not None]
        if not items or not more:
            break
    return found


def generic_error_message(body: Any) -> str | None:
    """``message``/``error``/``errors`` in the common shapes; the providers document little more."""
    if not isinstance(body, Mapping):
        return None
    for key in ("message", "error", "detail", "title"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    errors = body.get("errors")
    if isinstance(errors, Mapping):  # {"field": ["msg", ...]}
        return "; ".join(
            f"{field}: {', '.join(map(str, msgs if isinstance(msgs, list) else [msgs]))}"
            for field, msgs in errors.items()
        )
    if isinstance(errors, list) and errors:  # JSON:API [{"title", "detail"}]
        parts = [generic_error_message(item) or str(item) for item in errors]
        return "; ".join(parts)
    return None


def random_local_part(length: int = 12) -> str:
    """For providers that need us to name the address: lower-case letters and digits, like theirs."""
    return "".join(secrets.choice(_LOCAL_ALPHABET) for _ in range(length))


def basic_auth(user: str, password: str) -> str:
    """An ``Authorization`` value for HTTP Basic (RFC 7617), UTF-8 credentials."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def split_address(address: str) -> tuple[str, str]:
    local, _, domain = address.rpartition("@")
    return local, domain


def parse_provider_time(value: Any) -> datetime | None:
    """ISO 8601 / ``YYYY-MM-DD HH:MM:SS`` strings or epoch milliseconds; naive values are UTC."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if not isinstance(value, str) or not value:
        return None
    return parse_iso(value)
