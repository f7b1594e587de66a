"""Bad input to the read API: 400 with a JSON body naming the parameter, never a silent match-all."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from service.settings import Settings
from tests.support.api import bearer, make_token


@pytest.fixture
async def api(client: httpx.AsyncClient, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    client.headers.update(bearer(make_token(settings)))
    yield client


BAD = [
    ("/api/v1/messages", {"subjet": "typo"}, "subjet"),
    ("/api/v1/messages", {"to": "not-an-address"}, "to"),
    ("/api/v1/messages", {"to": "Signup <signup@x.example>"}, "to"),
    ("/api/v1/messages", {"from": "a@b@c"}, "from"),
    ("/api/v1/messages", {"cursor": "01abc"}, "cursor"),
    ("/api/v1/messages", {"cursor": "zzzzzzzzzzzzzzzzzzzzzzzzzz"}, "cursor"),
    ("/api/v1/messages", {"since": "yesterday"}, "since"),
    ("/api/v1/messages", {"until": "2026-13-01"}, "until"),
    ("/api/v1/messages", {"limit": "0"}, "limit"),
    ("/api/v1/messages", {"limit": "201"}, "limit"),
    ("/api/v1/messages", {"limit": "-1"}, "limit"),
    ("/api/v1/messages", {"status": "done"}, "status"),
    ("/api/v1/messages", {"subject": ""}, "subject"),
    ("/api/v1/messages", {"subject": "x" * 1001}, "subject"),
    ("/api/v1/messages/01aaaaaaaaaaaaaaaaaaaaaaaa", {"fields": "all"}, "fields"),
    ("/api/v1/cursor", {"now": "1"}, "now"),
    ("/api/v1/wait", {}, "to"),
    ("/api/v1/wait", {"to": "signup"}, "to"),
    ("/api/v1/wait", {"to": "a@b.example", "timeout": "-1"}, "timeout"),
    ("/api/v1/wait", {"to": "a@b.example", "timeout": "86401"}, "timeout"),
    ("/api/v1/wait", {"to": "a@b.example", "timeout": "1e309"}, "timeout"),
    ("/api/v1/wait", {"to": "a@b.example", "timeout": "nan"}, "timeout"),
    ("/api/v1/wait", {"to": "a@b.example", "timeout": "soon"}, "timeout"),
    ("/api/v1/wait", {"to": "a@b.example", "claim": "maybe"}, "claim"),
    ("/api/v1/wait", {"to": "a@b.example", "since": "0x1f"}, "since"),
    ("/api/v1/wait", {"to": "a@b.example", "tag": "x"}, "tag"),
]


@pytest.mark.parametrize(("path", "params", "parameter"), BAD)
async def test_bad_parameter_is_400_naming_it(
    api: httpx.AsyncClient, path: str, params: dict[str, str], parameter: str
) -> None:
    response = await api.get(path, params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "bad_parameter"
    assert body["details"] == {"parameter": parameter}
    assert parameter in body["message"]


async def test_a_repeated_parameter_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/messages?to=a@b.example&to=c@d.example")
    assert response.status_code == 400
    assert response.json()["details"] == {"parameter": "to"}


@pytest.mark.parametrize(
    "params",
    [
        {"to": "Signup+Run1@Example.COM", "limit": "200", "status": "unrouted"},
        {"since": "2026-01-01T00:00:00", "until": "1893456000.5"},
        {"since": "01AAAAAAAAAAAAAAAAAAAAAAAA"},
    ],
)
async def test_good_parameters_are_accepted(api: httpx.AsyncClient, params: dict[str, str]) -> None:
    assert (await api.get("/api/v1/messages", params=params)).status_code == 200
