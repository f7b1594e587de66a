"""``MailhookClient``: the blocking client (tests, scripts, ``mailhook wait``).

Each method sends what :mod:`.operations` describes and reads the answer with :mod:`.exchange`;
this module only does the blocking I/O (``httpx.Client``, ``time.sleep``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any, TypeVar, Unpack

import httpx

from service.client import exchange, operations
from service.client.base import ClientBase
from service.client.bounces import Bounce, Suppression
from service.client.models import Address, MessageDetail, Summary, WaitResult
from service.client.operations import BounceFilters, Listing, MessageFilters, Operation, Since, SuppressionFilters
from service.client.waiting import LinkMatch, WaitOptions, Want, wait_plan

T = TypeVar("T")


class MailhookClient(ClientBase[httpx.BaseTransport, httpx.Client]):
    """The blocking client; :class:`~service.client.aio.AsyncMailhookClient` is its asyncio twin."""

    def _connect(self, transport: httpx.BaseTransport | None) -> httpx.Client:
        return httpx.Client(**self.config.http_options(), transport=transport)

    def __enter__(self) -> MailhookClient:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, operation: Operation[Any]) -> httpx.Response:
        timeout = httpx.USE_CLIENT_DEFAULT if operation.timeout is None else operation.timeout
        try:
            return self._http.request(
                operation.method, operation.path, params=operation.params, json=operation.json, timeout=timeout
            )
        except httpx.RequestError as exc:
            raise exchange.transport_error(exc, self.config.url) from exc

    def _run(self, operation: Operation[T]) -> T:
        return exchange.result(operation, self._send(operation), self.config)

    def _items(self, listing: Listing[T]) -> Iterator[T]:
        while (page := listing.next_page()) is not None:
            yield from listing.take(self._run(page))

    # Messages

    def messages(self, **filters: Unpack[MessageFilters]) -> Iterator[Summary]:
        """Matching messages, newest first, fetching further pages as the iteration goes on."""
        return self._items(operations.messages(filters))

    def message(self, message_id: str) -> MessageDetail:
        return self._run(operations.message(message_id))

    def raw(self, message_id: str) -> bytes:
        """The stored raw MIME or provider payload (provider secrets stripped)."""
        return self._run(operations.raw(message_id))

    def attachment(self, message_id: str, position: int) -> bytes:
        return self._run(operations.attachment(message_id, position))

    def delete(self, message_id: str) -> None:
        """Delete a message and the blobs only it referenced (admin token)."""
        self._run(operations.delete(message_id))

    def replay(self, message_id: str) -> None:
        """Queue the message's pipeline to run again (admin token)."""
        self._run(operations.replay(message_id))

    # Waiting

    def cursor(self) -> str:
        """The server's "now": messages stored after it are newer. Take it before triggering mail."""
        return self._run(operations.cursor())

    def wait_for_message(self, to: str, **options: Unpack[WaitOptions]) -> WaitResult:
        """Block until a message to ``to`` (and ``from_``, ``subject`` containing) is stored after ``since``.

        Waits past the server's per-request cap until ``timeout`` seconds (default 60) have passed,
        then raises :class:`WaitTimeout`. ``claim=True`` hands each message to one caller only.
        Pass the result's ``cursor`` as ``since`` to wait for the next message.
        """
        return self.wait(to, Want.message(), **options)

    def wait_for_code(self, to: str, **options: Unpack[WaitOptions]) -> str:
        """The one-time code of the first message carrying one (messages without one are passed over)."""
        want = Want.code()
        return want.picked(self.wait(to, want, **options).message)

    def wait_for_link(self, to: str, *, match: LinkMatch = None, **options: Unpack[WaitOptions]) -> str:
        """The first link containing ``match`` (a substring) or matching it (a compiled regex)."""
        want = Want.link(match)
        return want.picked(self.wait(to, want, **options).message)

    def wait(self, to: str, want: Want, **options: Unpack[WaitOptions]) -> WaitResult:
        """Wait for the first message ``want`` picks something from (the other ``wait_for_*`` build on it)."""
        plan = wait_plan(to, want, **options)
        while True:
            answer = self._send(plan.next_request(self.config.timeout))
            if (found := plan.on_answer(answer, self.config)) is not None:
                return found
            time.sleep(plan.pause)

    # Addresses

    def create_address(self, via: str, local_part: str | None = None, domain: str | None = None) -> Address:
        """Make an address through provider ``via`` that delivers to this Mailhook (admin token)."""
        return self._run(operations.create_address(via, local_part, domain))

    def delete_address(self, address: str, *, missing_ok: bool = False) -> None:
        self._run(operations.delete_address(address, missing_ok))

    def addresses(self) -> list[Address]:
        return self._run(operations.addresses())

    # Bounces and the suppression list

    def bounces(self, **filters: Unpack[BounceFilters]) -> Iterator[Bounce]:
        """Recorded bounce events, newest first by when they occurred, fetching further pages as needed."""
        return self._items(operations.bounces(filters))

    def suppressions(self, **filters: Unpack[SuppressionFilters]) -> Iterator[Suppression]:
        """Suppressed addresses and why, newest first (those in force, unless ``include_expired=True``)."""
        return self._items(operations.suppressions(filters))

    def add_suppression(
        self, address: str, *, reason: str | None = None, expires_at: Since | None = None
    ) -> Suppression:
        """Suppress ``address`` until ``expires_at`` or until removed, replacing any entry it has (admin token)."""
        return self._run(operations.add_suppression(address, reason, expires_at))

    def remove_suppression(self, address: str, *, missing_ok: bool = False) -> None:
        """Stop suppressing ``address`` (admin token); :class:`NotFound` if it was not, unless ``missing_ok``."""
        self._run(operations.remove_suppression(address, missing_ok))
