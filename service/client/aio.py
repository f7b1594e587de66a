"""``AsyncMailhookClient``: the asyncio twin of :class:`~service.client.sync.MailhookClient`.

Same methods, same arguments, same errors; every method is a coroutine and ``messages()`` is an
async iterator. Keep the two in step: what differs is only ``await`` and ``asyncio.sleep``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Unpack

import httpx

from service.client import core
from service.client.core import ClientConfig, MessageFilters, Since, WaitOptions
from service.client.errors import NotFound
from service.client.models import Address, MessageDetail, Summary, WaitResult
from service.client.waiting import LinkMatch, WaitPlan, Want, wait_plan


class AsyncMailhookClient:
    """Read, wait for and manage messages through Mailhook's ``/api/v1``.

    ``url`` and ``token`` default to ``MAILHOOK_URL`` (else http://127.0.0.1:8000) and
    ``MAILHOOK_TOKEN``. ``timeout`` bounds each ordinary request; waits get their own deadline.
    Every failure raises a :class:`~service.client.errors.MailhookError`.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = ClientConfig.resolve(url, token, timeout)
        self._http = httpx.AsyncClient(
            base_url=self.config.url + core.API_PREFIX,
            headers=self.config.headers(),
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> AsyncMailhookClient:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(method, path, **kwargs)
        except httpx.RequestError as exc:
            raise core.transport_error(exc, self.config.url) from exc

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return core.check(await self._send(method, path, **kwargs), self.config)

    # Messages

    async def messages(self, **filters: Unpack[MessageFilters]) -> AsyncIterator[Summary]:
        """Matching messages, newest first, fetching further pages as the iteration goes on."""
        limit, cursor, seen = filters.get("limit"), None, 0
        while True:
            page = await self._call("GET", "/messages", params=core.page_params(filters, cursor))
            items, cursor = core.parse(core.parse_page, page)
            for item in items:
                if limit is not None and seen >= limit:
                    return
                seen += 1
                yield item
            if cursor is None or not items:
                return

    async def message(self, message_id: str) -> MessageDetail:
        return core.parse(MessageDetail.from_json, await self._call("GET", core.message_path(message_id)))

    async def raw(self, message_id: str) -> bytes:
        """The stored raw MIME or provider payload (provider secrets stripped)."""
        return (await self._call("GET", core.message_path(message_id, "/raw"))).content

    async def attachment(self, message_id: str, position: int) -> bytes:
        return (await self._call("GET", core.message_path(message_id, f"/attachments/{int(position)}"))).content

    async def delete(self, message_id: str) -> None:
        """Delete a message and the blobs only it referenced (admin token)."""
        await self._call("DELETE", core.message_path(message_id))

    async def replay(self, message_id: str) -> None:
        """Queue the message's pipeline to run again (admin token)."""
        await self._call("POST", core.message_path(message_id, "/replay"))

    # Waiting

    async def cursor(self) -> str:
        """The server's "now": messages stored after it are newer. Take it before triggering mail."""
        return str(core.json_body(await self._call("GET", "/cursor"))["cursor"])

    async def wait_for_message(
        self,
        to: str,
        *,
        from_: str | None = None,
        subject: str | None = None,
        since: Since | None = None,
        timeout: float = 60,
        claim: bool = False,
    ) -> WaitResult:
        """Block until a message to ``to`` (and ``from_``, ``subject`` containing) is stored after ``since``.

        Waits past the server's per-request cap until ``timeout`` seconds have passed, then
        raises :class:`WaitTimeout`. ``claim=True`` hands each message to one caller only.
        Pass the result's ``cursor`` as ``since`` to wait for the next message.
        """
        plan = wait_plan(to, Want.message(), from_=from_, subject=subject, since=since, timeout=timeout, claim=claim)
        return await self._wait(plan)

    async def wait_for_code(self, to: str, **options: Unpack[WaitOptions]) -> str:
        """The one-time code of the first message carrying one (messages without one are passed over)."""
        return await self._wait_for(to, Want.code(), options)

    async def wait_for_link(self, to: str, *, match: LinkMatch = None, **options: Unpack[WaitOptions]) -> str:
        """The first link containing ``match`` (a substring) or matching it (a compiled regex)."""
        return await self._wait_for(to, Want.link(match), options)

    async def wait(self, to: str, want: Want, **options: Unpack[WaitOptions]) -> WaitResult:
        """Wait for the first message ``want`` picks something from (the other ``wait_for_*`` build on it)."""
        return await self._wait(wait_plan(to, want, **options))

    async def _wait_for(self, to: str, want: Want, options: WaitOptions) -> str:
        found = want.pick((await self.wait(to, want, **options)).message)
        assert found is not None  # `wait` only returns a message its `want` accepted
        return found

    async def _wait(self, plan: WaitPlan) -> WaitResult:
        while True:
            params, timeout = plan.next_request(self.config.timeout)
            response = await self._send("GET", "/wait", params=params, timeout=timeout)
            result = plan.on_answer(response, self.config)
            if result is not None:
                return result
            if plan.expired():
                raise plan.give_up()
            await asyncio.sleep(min(plan.pause, plan.remaining()))

    # Addresses

    async def create_address(self, via: str, local_part: str | None = None, domain: str | None = None) -> Address:
        """Make an address through provider ``via`` that delivers to this Mailhook (admin token)."""
        body = {"via": via, "local_part": local_part, "domain": domain}
        payload = {key: value for key, value in body.items() if value is not None}
        return core.parse(Address.from_json, await self._call("POST", "/addresses", json=payload))

    async def delete_address(self, address: str, *, missing_ok: bool = False) -> None:
        try:
            await self._call("DELETE", core.address_path(address))
        except NotFound:
            if not missing_ok:
                raise

    async def addresses(self) -> list[Address]:
        return core.parse(core.parse_addresses, await self._call("GET", "/addresses"))
