"""`GET /api/v1/wait`: each waiting semantic of issue 10 against a real app, Redis and SQLite."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from service.api import wait as wait_module
from service.cli.web import create_web_app
from service.settings import Settings
from service.store.reads import oldest_ids
from tests.support.api import RAW_SOURCE, bearer, deliver, make_token
from tests.support.servers import serve_in_thread


@pytest.fixture
def app_url(settings: Settings) -> Iterator[str]:
    settings.config.write_text(RAW_SOURCE)
    with serve_in_thread(create_web_app(settings.model_copy(update={"max_wait_s": 5.0}))) as base:
        yield base


@pytest.fixture
async def api(app_url: str, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=app_url, timeout=15, headers=bearer(make_token(settings))) as client:
        yield client


async def _wait(api: httpx.AsyncClient, to: str, **params: Any) -> httpx.Response:
    return await api.get("/api/v1/wait", params={"to": to, **params})


async def test_mail_that_arrived_before_the_wait_call_is_found(api: httpx.AsyncClient) -> None:
    """The classic race: the test takes a cursor, the sign-up mail is fast, the wait starts late."""
    cursor = (await api.get("/api/v1/cursor")).json()["cursor"]
    mid = await deliver(api, "signup+race@qa.example.com", code="550011")
    started = time.monotonic()
    response = await _wait(api, "signup+race@qa.example.com", since=cursor, timeout=5)
    assert time.monotonic() - started < 1.0
    assert response.status_code == 200
    assert response.json()["message"]["id"] == mid
    assert response.json()["message"]["code"] == "550011"
    assert response.json()["cursor"] == mid


async def test_since_takes_a_timestamp(api: httpx.AsyncClient) -> None:
    before = time.time() - 1
    mid = await deliver(api, "ts@qa.example.com")
    response = await _wait(api, "ts@qa.example.com", since=f"{before:.3f}", timeout=1)
    assert response.json()["message"]["id"] == mid


async def test_a_waiter_is_woken_by_the_notification_not_by_polling(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[float] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(time.monotonic())
        return oldest_ids(*args, **kwargs)

    monkeypatch.setattr(wait_module, "oldest_ids", counted)
    waiter = asyncio.create_task(_wait(api, "wake@qa.example.com", timeout=5))
    await asyncio.sleep(1.5)
    assert len(reads) == 1  # the first look; nothing since (the safety re-check is 10 s away)
    delivered = time.monotonic()
    mid = await deliver(api, "wake@qa.example.com")
    response = await waiter
    answered = time.monotonic()
    assert response.json()["message"]["id"] == mid
    assert answered - delivered < 0.5
    assert len(reads) == 2


async def test_mail_from_an_earlier_run_is_never_returned_after_a_newer_cursor(api: httpx.AsyncClient) -> None:
    await deliver(api, "signup+ci@qa.example.com", code="111111")
    cursor = (await api.get("/api/v1/cursor")).json()["cursor"]
    timed_out = await _wait(api, "signup+ci@qa.example.com", since=cursor, timeout=0.3)
    assert timed_out.status_code == 408
    waiter = asyncio.create_task(_wait(api, "signup+ci@qa.example.com", since=cursor, timeout=5))
    await asyncio.sleep(0.2)
    new = await deliver(api, "signup+ci@qa.example.com", code="222222")
    response = await waiter
    assert response.json()["message"]["id"] == new
    assert response.json()["message"]["code"] == "222222"


async def test_plus_addresses_never_see_each_others_mail(api: httpx.AsyncClient) -> None:
    cursor = (await api.get("/api/v1/cursor")).json()["cursor"]
    run1 = asyncio.create_task(_wait(api, "signup+run1@qa.example.com", since=cursor, timeout=3))
    run2 = asyncio.create_task(_wait(api, "signup+run2@qa.example.com", since=cursor, timeout=3))
    await asyncio.sleep(0.2)
    for_run2 = await deliver(api, "signup+run2@qa.example.com")
    assert (await run2).json()["message"]["id"] == for_run2
    await asyncio.sleep(0.3)
    assert not run1.done()
    for_run1 = await deliver(api, "signup+run1@qa.example.com")
    assert (await run1).json()["message"]["id"] == for_run1
    base = await _wait(api, "signup@qa.example.com", since=cursor, timeout=1)
    assert base.json()["message"]["id"] == for_run2  # a base address sees every tag, oldest first


async def test_successive_waits_walk_through_the_mail_in_order(api: httpx.AsyncClient) -> None:
    cursor = (await api.get("/api/v1/cursor")).json()["cursor"]
    ids = [await deliver(api, "walk@qa.example.com") for _ in range(3)]
    seen = []
    for _ in ids:
        response = (await _wait(api, "walk@qa.example.com", since=cursor, timeout=1)).json()
        seen.append(response["message"]["id"])
        cursor = response["cursor"]
    assert seen == ids
    assert (await _wait(api, "walk@qa.example.com", since=cursor, timeout=0)).status_code == 408


async def test_claim_hands_each_message_to_one_waiter(api: httpx.AsyncClient) -> None:
    cursor = (await api.get("/api/v1/cursor")).json()["cursor"]
    waiters = [
        asyncio.create_task(_wait(api, "pool@qa.example.com", since=cursor, timeout=2, claim="true")) for _ in range(12)
    ]
    await asyncio.sleep(0.3)
    sent = await asyncio.gather(*(deliver(api, "pool@qa.example.com") for _ in range(4)))
    responses = await asyncio.gather(*waiters)
    won = [r.json()["message"]["id"] for r in responses if r.status_code == 200]
    assert sorted(won) == sorted(sent)
    assert sum(r.status_code == 408 for r in responses) == 8
    # Without claim a waiter still sees claimed mail.
    assert (await _wait(api, "pool@qa.example.com", since=cursor, timeout=0)).status_code == 200


async def test_a_claiming_waiter_that_hung_up_claims_nothing(api: httpx.AsyncClient) -> None:
    cursor = (await api.get("/api/v1/cursor")).json()["cursor"]
    with pytest.raises(httpx.ReadTimeout):
        await api.get(
            "/api/v1/wait",
            params={"to": "gone@qa.example.com", "since": cursor, "claim": "true", "timeout": 5},
            timeout=0.3,
        )
    await asyncio.sleep(0.2)
    mid = await deliver(api, "gone@qa.example.com")
    response = await _wait(api, "gone@qa.example.com", since=cursor, claim="true", timeout=1)
    assert response.json()["message"]["id"] == mid


async def test_timeout_is_capped_and_the_408_says_so(api: httpx.AsyncClient) -> None:
    cursor = (await api.get("/api/v1/cursor")).json()["cursor"]
    started = time.monotonic()
    response = await _wait(api, "nobody@qa.example.com", since=cursor, timeout=600)
    took = time.monotonic() - started
    assert 4.9 < took < 7
    assert response.status_code == 408
    body = response.json()
    assert body["error"] == "timeout"
    assert body["message"].startswith("no message to nobody@qa.example.com within 5 s")
    assert "600" in body["message"]
    assert body["details"] == {
        "to": "nobody@qa.example.com",
        "since": cursor,
        "timeout": 5.0,
        "max_timeout": 5.0,
        "capped": True,
        "cursor": cursor,
    }
    short = (await _wait(api, "nobody@qa.example.com", timeout=0.2)).json()
    assert short["details"]["capped"] is False and short["details"]["timeout"] == 0.2
