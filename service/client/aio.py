"""``AsyncMailhookClient``: the asyncio twin of :class:`~service.client.sync.MailhookClient`.

Same methods, same arguments, same errors; every method is a coroutine and ``messages()`` is an
async iterator. Both send what :mod:`.operations` describes and read answers with :mod:`.exchange`;
this module only does the asyncio I/O (``httpx.AsyncClient``, ``asyncio.sleep``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
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


class AsyncMailhookClient(ClientBase[httpx.AsyncBaseTransport, httpx.AsyncClient]):
    """The asyncio client: :class:`~service.client.sync.MailhookClient`'s methods as coroutines."""

    def _connect(self, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
        return httpx.AsyncClient(**self.config.http_options(), transport=transport)

    async def __aenter__(self) -> AsyncMailhookClient:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, operation: Operation[Any]) -> httpx.Response:
        timeout = httpx.USE_CLIENT_DEFAULT if operation.timeout is None else operation.timeout
        try:
            return await self._http.request(
                operation.method, operation.path, params=operation.params, json=operation.json, timeout=timeout
            )
        except httpx.RequestError as exc:
            raise exchange.transport_error(exc, self.config.url) from exc

    async def _run(self, operation: Operation[T]) -> T:
        return exchange.result(operation, await self._send(operation), self.config)

    async def _items(self, listing: Listing[T]) -> AsyncIterator[T]:
        while (page := listing.next_page()) is not None:
            for item in listing.take(await self._run(page)):
                yield item

    # Messages

    def messages(self, **filters: Unpack[MessageFilters]) -> AsyncIterator[Summary]:
        """Matching messages, newest first, fetching further pages as the iteration goes on."""
        return self._items(operations.messages(filters))

    async def message(self, message_id: str) -> MessageDetail:
        return await self._run(operations.message(message_id))

    async def raw(self, message_id: str) -> bytes:
        """The stored raw MIME or provider payload (provider secrets stripped)."""
        return await self._run(operations.raw(message_id))

    async def attachment(self, message_id: str, position: int) -> bytes:
        return await self._run(operations.attachment(message_id, position))

    async def delete(self, message_id: str) -> None:
        """Delete a message and the blobs only it referenced (admin token)."""
        await self._run(operations.delete(message_id))

    async def replay(self, message_id: str) -> None:
        """Queue the message's pipeline to run again (admin token)."""
        await self._run(operations.replay(message_id))

    # Waiting

    async def cursor(self) -> str:
        """The server's "now": messages stored after it are newer. Take it before triggering mail."""
        return await self._run(operations.cursor())

    async def wait_for_message(self, to: str, **options: Unpack[WaitOptions]) -> WaitResult:
        """Wait until a message to ``to`` (and ``from_``, ``subject`` containing) is stored after ``since``.

        Waits past the server's per-request cap until ``timeout`` seconds (default 60) have passed,
        then raises :class:`WaitTimeout`. ``claim=True`` hands each message to one caller only.
        Pass the result's ``cursor`` as ``since`` to wait for the next message.
        """
        return await self.wait(to, Want.message(), **options)

    async def wait_for_code(self, to: str, **options: Unpack[WaitOptions]) -> str:
        """The one-time code of the first message carrying one (messages without one are passed over)."""
        want = Want.code()
        return want.picked((await self.wait(to, want, **options)).message)

    async def wait_for_link(self, to: str, *, match: LinkMatch = None, **options: Unpack[WaitOptions]) -> str:
        """The first link containing ``match`` (a substring) or matching it (a compiled regex)."""
        want = Want.link(match)
        return want.picked((await self.wait(to, want, **options)).message)

    async def wait(self, to: str, want: Want, **options: Unpack[WaitOptions]) -> WaitResult:
        """Wait for the first message ``want`` picks something from (the other ``wait_for_*`` build on it)."""
        plan = wait_plan(to, want, **options)
        while True:
            answer = await self._send(plan.next_request(self.config.timeout))
            if (found := plan.on_answer(answer, self.config)) is not None:
                return found
            await asyncio.sleep(plan.pause)

    # Addresses

    async def create_address(self, via: str, local_part: str | None = None, domain: str | None = None) -> Address:
        """Make an address through provider ``via`` that delivers to this Mailhook (admin token)."""
        return await self._run(operations.create_address(via, local_part, domain))

    async def delete_address(self, address: str, *, missing_ok: bool = False) -> None:
        await self._run(operations.delete_address(address, missing_ok))

    async def addresses(self) -> list[Address]:
        return await self._run(operations.addresses())

    # Bounces and the suppression list

    def bounces(self, **filters: Unpack[BounceFilters]) -> AsyncIterator[Bounce]:
        """Recorded bounce events, newest first by when they occurred, fetching further pages as needed."""
        return self._items(operations.bounces(filters))

    def suppressions(self, **filters: Unpack[SuppressionFilters]) -> AsyncIterator[Suppression]:
        """Suppressed addresses and why, newest first (those in force, unless ``include_expired=True``)."""
        return self._items(operations.suppressions(filters))

    async def add_suppression(
        self, address: str, *, reason: str | None = None, expires_at: Since | None = None
    ) -> Suppression:
        """Suppress ``address`` until ``expires_at`` or until removed, replacing any entry it has (admin token)."""
        return await self._run(operations.add_suppression(address, reason, expires_at))

    async def remove_suppression(self, address: str, *, missing_ok: bool = False) -> None:
        """Stop suppressing ``address`` (admin token); :class:`NotFound` if it was not, unless ``missing_ok``."""
        await self._run(operations.remove_suppression(address, missing_ok))
