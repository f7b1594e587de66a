"""The async client: the same behaviour as the sync one, against the same fake read API."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from service.cli.embedded_redis import free_port
from service.client import AsyncMailhookClient, BadRequest, Forbidden, NotFound, ServerUnavailable, WaitTimeout
from tests.support.fakes.mailhook_api import ADMIN_TOKEN, READ_TOKEN, FakeMailhookAPI
from tests.support.servers import serve_in_thread

TO = "signup+async@qa.example.com"


@pytest.fixture
def fake() -> FakeMailhookAPI:
    return FakeMailhookAPI(max_wait_s=0.2)


@pytest.fixture
def fake_url(fake: FakeMailhookAPI) -> Iterator[str]:
    with serve_in_thread(fake.app()) as base:
        yield base


@pytest.fixture
async def client(fake_url: str) -> AsyncIterator[AsyncMailhookClient]:
    async with AsyncMailhookClient(fake_url, ADMIN_TOKEN, timeout=5) as mailhook:
        yield mailhook


async def test_wait_for_code_keeps_waiting_past_the_cap(client: AsyncMailhookClient, fake: FakeMailhookAPI) -> None:
    since = await client.cursor()
    asyncio.get_running_loop().call_later(0.7, lambda: fake.deliver(TO, subject="Welcome"))
    asyncio.get_running_loop().call_later(0.9, lambda: fake.deliver(TO, code="314159"))
    assert await client.wait_for_code(TO, since=since, timeout=5) == "314159"
    assert len([path for _, path, _ in fake.requests if path == "/api/v1/wait"]) >= 3


async def test_wait_timeout_says_what_was_waited_for(client: AsyncMailhookClient) -> None:
    with pytest.raises(WaitTimeout, match=f"^no message with a link matching /verify/ to {re.escape(TO)} within 1 s$"):
        await client.wait_for_link(TO, match=re.compile("verify"), timeout=1)


async def test_wait_for_message_returns_the_next_cursor(client: AsyncMailhookClient, fake: FakeMailhookAPI) -> None:
    since = await client.cursor()
    fake.deliver(TO, subject="one")
    fake.deliver(TO, subject="two")
    first = await client.wait_for_message(TO, since=since, timeout=1)
    second = await client.wait_for_message(TO, since=first.cursor, timeout=1)
    assert (first.message.subject, second.message.subject) == ("one", "two")


async def test_wait_rides_out_gateway_errors(client: AsyncMailhookClient, fake: FakeMailhookAPI) -> None:
    fake.fail_next = [504]
    fake.deliver(TO, links=("https://x.example/verify",))
    assert await client.wait_for_link(TO, since="c:0", timeout=3) == "https://x.example/verify"


async def test_errors_are_mailhook_errors(client: AsyncMailhookClient, fake_url: str, fake: FakeMailhookAPI) -> None:
    with pytest.raises(NotFound):
        await client.message("nope")
    with pytest.raises(BadRequest) as caught:
        await client.wait_for_message(TO, since="yesterday", timeout=1)
    assert caught.value.details == {"parameter": "since"}
    async with AsyncMailhookClient(fake_url, READ_TOKEN) as reader:
        with pytest.raises(Forbidden):
            await reader.replay(fake.deliver(TO)["id"])
    url = f"http://127.0.0.1:{free_port()}"
    async with AsyncMailhookClient(url) as nowhere:
        with pytest.raises(ServerUnavailable, match=f"^cannot reach Mailhook at {url}") as unreachable:
            await nowhere.wait_for_message(TO, timeout=1)
    assert isinstance(unreachable.value.__cause__, httpx.ConnectError)


async def test_messages_is_an_async_iterator_over_pages(client: AsyncMailhookClient, fake: FakeMailhookAPI) -> None:
    for n in range(5):
        fake.deliver(TO, subject=f"n{n}")
    assert [m.subject async for m in client.messages(to=TO, page_size=2)] == ["n4", "n3", "n2", "n1", "n0"]
    assert [m.subject async for m in client.messages(to=TO, page_size=2, limit=3)] == ["n4", "n3", "n2"]


async def test_raw_delete_and_addresses(client: AsyncMailhookClient, fake: FakeMailhookAPI) -> None:
    stored = fake.deliver(TO, subject="Hi", text="body")
    assert await client.raw(stored["id"]) == b"Subject: Hi\r\n\r\nbody"
    await client.delete(stored["id"])
    with pytest.raises(NotFound):
        await client.raw(stored["id"])
    made = await client.create_address("improvmx")
    assert [a.address for a in await client.addresses()] == [made.address]
    await client.delete_address(made.address)
    await client.delete_address(made.address, missing_ok=True)
