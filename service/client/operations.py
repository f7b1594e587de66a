"""Every call of the read API as data: method, path, parameters, and how to read the answer.

Both clients send these and nothing else (:mod:`.sync` with ``httpx.Client``, :mod:`.aio` with
``httpx.AsyncClient``); :mod:`.exchange` turns each answer into the result or a typed error. So
what a call sends and what its answer means is spelled once, here, and the clients cannot drift.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypedDict, TypeVar
from urllib.parse import quote

import httpx

from service.client.bounces import Bounce, Suppression
from service.client.errors import MailhookError
from service.client.models import Address, MessageDetail, Summary

T = TypeVar("T")
Since = str | datetime
#: How to hand a 2xx answer to ``Operation.read``: its JSON, its bytes, or nothing.
Body = Literal["json", "bytes", "empty"]


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


class BounceFilters(TypedDict, total=False):
    """Filters of ``bounces()``: ``since``/``until`` bound when the bounce occurred."""

    recipient: str
    kind: str
    source: str
    since: Since
    until: Since
    page_size: int
    limit: int


class SuppressionFilters(TypedDict, total=False):
    """Filters of ``suppressions()``: entries in force unless ``include_expired``."""

    address: str
    include_expired: bool
    page_size: int
    limit: int


@dataclass(frozen=True)
class Operation(Generic[T]):
    """One request, and how its 2xx answer (or a status in ``also_ok``) becomes a ``T``."""

    method: str
    path: str
    read: Callable[[Any], T]
    body: Body = "json"
    params: dict[str, str] | None = None
    json: dict[str, Any] | None = None
    #: ``None``: the client's own timeout.
    timeout: httpx.Timeout | None = None
    also_ok: frozenset[int] = frozenset()


@dataclass
class Listing(Generic[T]):
    """A paged list (``{"items": [...], "next_cursor": ...}``): each page's request, and where to stop.

    ``limit`` is the client's own cap on items over all pages; no page is asked for past it.
    """

    path: str
    params: dict[str, str]
    item: Callable[[dict[str, Any]], T]
    noun: str
    limit: int | None = None
    cursor: str | None = None
    taken: int = 0
    done: bool = False

    def next_page(self) -> Operation[tuple[list[T], str | None]] | None:
        if self.done:
            return None
        params = self.params if self.cursor is None else self.params | {"cursor": self.cursor}
        return Operation("GET", self.path, self._read, params=params)

    def take(self, page: tuple[list[T], str | None]) -> list[T]:
        """The page's items within ``limit``; afterwards ``next_page()`` asks for the next one, if any."""
        items, self.cursor = page
        if self.limit is not None:
            items = items[: max(self.limit - self.taken, 0)]
            self.done = self.taken + len(items) >= self.limit
        self.taken += len(items)
        self.done = self.done or self.cursor is None or not items
        return items

    def _read(self, body: dict[str, Any]) -> tuple[list[T], str | None]:
        items = body.get("items")
        if not isinstance(items, list):
            raise MailhookError(f"unexpected answer from Mailhook: a {self.noun} page without 'items'")
        next_cursor = body.get("next_cursor")
        return [self.item(item) for item in items], str(next_cursor) if next_cursor else None


def since_text(value: Since) -> str:
    return value.isoformat() if isinstance(value, datetime) else value


#: Filter names that are not the query parameter's name (``limit`` is the client's own total cap).
_PARAMETER = {"from_": "from", "page_size": "limit"}


def query(filters: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    """Query parameters from the filters given, in ``names`` order."""
    params: dict[str, str] = {}
    for key in names:
        value = filters.get(key)
        if isinstance(value, bool):
            params[_PARAMETER.get(key, key)] = "true" if value else "false"
        elif value is not None:
            params[_PARAMETER.get(key, key)] = since_text(value) if isinstance(value, datetime) else str(value)
    return params


def message_path(message_id: str, suffix: str = "") -> str:
    return f"/messages/{quote(str(message_id), safe='')}{suffix}"


def address_path(prefix: str, address: str) -> str:
    return f"{prefix}/{quote(address, safe='@+')}"


def _nothing(_: None) -> None:
    return None


def _same(content: bytes) -> bytes:
    return content


def _present(**values: Any) -> dict[str, Any]:
    """A JSON body of the values given; None leaves a field out, so the server's default applies."""
    return {key: value for key, value in values.items() if value is not None}


def _remove(path: str, missing_ok: bool) -> Operation[None]:
    """``DELETE path``; with ``missing_ok`` a 404 (already gone) counts as done."""
    return Operation("DELETE", path, _nothing, "empty", also_ok=frozenset({404}) if missing_ok else frozenset())


def _cursor(body: dict[str, Any]) -> str:
    return str(body["cursor"])


def _addresses(body: Any) -> list[Address]:
    """``GET /addresses`` as ``{"items": [...]}`` (like messages) or a bare list."""
    items = body.get("items") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise MailhookError("unexpected answer from Mailhook: an address list without 'items'")
    return [Address.from_json(item) for item in items]


# Messages

_MESSAGE_FILTERS = ("to", "subject", "text", "tag", "source", "status", "from_", "since", "until", "page_size")


def messages(filters: MessageFilters) -> Listing[Summary]:
    params = query(filters, _MESSAGE_FILTERS)
    return Listing("/messages", params, Summary.from_json, "message", limit=filters.get("limit"))


def message(message_id: str) -> Operation[MessageDetail]:
    return Operation("GET", message_path(message_id), MessageDetail.from_json)


def raw(message_id: str) -> Operation[bytes]:
    return Operation("GET", message_path(message_id, "/raw"), _same, "bytes")


def attachment(message_id: str, position: int) -> Operation[bytes]:
    return Operation("GET", message_path(message_id, f"/attachments/{int(position)}"), _same, "bytes")


def delete(message_id: str) -> Operation[None]:
    return _remove(message_path(message_id), missing_ok=False)


def replay(message_id: str) -> Operation[None]:
    return Operation("POST", message_path(message_id, "/replay"), _nothing, "empty")


def cursor() -> Operation[str]:
    return Operation("GET", "/cursor", _cursor)


# Addresses


def create_address(via: str, local_part: str | None, domain: str | None) -> Operation[Address]:
    payload = _present(via=via, local_part=local_part, domain=domain)
    return Operation("POST", "/addresses", Address.from_json, json=payload)


def delete_address(address: str, missing_ok: bool) -> Operation[None]:
    return _remove(address_path("/addresses", address), missing_ok)


def addresses() -> Operation[list[Address]]:
    return Operation("GET", "/addresses", _addresses)


# Bounces and the suppression list


def bounces(filters: BounceFilters) -> Listing[Bounce]:
    params = query(filters, ("recipient", "kind", "source", "since", "until", "page_size"))
    return Listing("/bounces", params, Bounce.from_json, "bounce", limit=filters.get("limit"))


def suppressions(filters: SuppressionFilters) -> Listing[Suppression]:
    params = query(filters, ("address", "include_expired", "page_size"))
    return Listing("/suppressions", params, Suppression.from_json, "suppression", limit=filters.get("limit"))


def add_suppression(address: str, reason: str | None, expires_at: Since | None) -> Operation[Suppression]:
    until = None if expires_at is None else since_text(expires_at)
    payload = _present(address=address, reason=reason, expires_at=until)
    return Operation("POST", "/suppressions", Suppression.from_json, json=payload)


def remove_suppression(address: str, missing_ok: bool) -> Operation[None]:
    return _remove(address_path("/suppressions", address), missing_ok)
