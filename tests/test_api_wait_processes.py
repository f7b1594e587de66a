"""Waiting across web processes: two real `mailhook serve` processes on one database and Redis.
A delivery to one wakes waiters held by the other, and claiming waiters spread over both get
each message exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from service.cli.embedded_redis import free_port
from service.settings import Settings
from tests.support.api import RAW_SOURCE, bearer, deliver, make_token
from tests.support.processes import mailhook_env, mailhook_process, wait_http


@pytest.fixture
def two_servers(settings: Settings) -> Iterator[list[str]]:
    settings.config.write_text(RAW_SOURCE)
    env = mailhook_env(settings, MAILHOOK_MAX_WAIT_S="20", MAILHOOK_LOG_LEVEL="WARNING")
    ports = [free_port(), free_port()]
    with (
        mailhook_process("serve", "--port", str(ports[0]), env=env),
        mailhook_process("serve", "--port", str(ports[1]), env=env),
    ):
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url in urls:
            wait_http(url + "/livez")
        yield urls


async def test_claim_across_processes_gives_each_message_to_one_caller(
    two_servers: list[str], settings: Settings
) -> None:
    headers = bearer(make_token(settings))
    first, second = (httpx.AsyncClient(base_url=url, timeout=30, headers=headers) for url in two_servers)
    async with first, second:
        cursor = (await first.get("/api/v1/cursor")).json()["cursor"]
        params = {"to": "pool@qa.example.com", "since": cursor, "claim": "true", "timeout": 4}
        waiters = [asyncio.create_task(client.get("/api/v1/wait", params=params)) for client in [first, second] * 8]
        watcher = asyncio.create_task(
            second.get("/api/v1/wait", params={"to": "pool@qa.example.com", "since": cursor, "timeout": 10})
        )
        await asyncio.sleep(0.5)
        sent = await asyncio.gather(*(deliver(first, "pool@qa.example.com") for _ in range(5)))
        responses = await asyncio.gather(*waiters)
        watched = await watcher
    won = [r.json()["message"]["id"] for r in responses if r.status_code == 200]
    assert sorted(won) == sorted(sent), [r.text for r in responses]
    assert sum(r.status_code == 408 for r in responses) == 11
    # The plain watcher on process two was woken by process one's ingest, and got the oldest.
    assert watched.json()["message"]["id"] == min(sent)
