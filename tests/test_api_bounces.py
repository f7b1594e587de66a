"""``/api/v1/bounces`` and ``/api/v1/suppressions`` over real HTTP: a bounce webhook's events
listed, filters, exact keyset pages, scopes, and the suppression list changed through the API
and honoured by the store the forwarding steps ask."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from service.config import SuppressionConfig
from service.mail.bounce import Kind
from service.settings import Settings
from service.store.bounce_writes import record_events
from service.store.bounces import BounceEventCreate
from service.store.db import make_engine
from service.store.suppressions import active_suppressions
from service.store.tokens import Scope
from tests.conftest import FIXTURES
from tests.support.api import bearer, make_token

POSTMARK_SECRET = "postmark-bounce-secret-0123456789"
CONFIG = f"""
sources:
  - {{name: postmark-bounces, provider: postmark-bounces, secrets: ["{POSTMARK_SECRET}"]}}
"""
T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def bounce_config(settings: Settings) -> None:
    settings.config.write_text(CONFIG)


@pytest.fixture
async def api(bounce_config: None, client: httpx.AsyncClient, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    client.headers.update(bearer(make_token(settings, Scope.admin)))
    yield client


def _event(key: str, recipient: str, kind: Kind, when: datetime, source: str = "ses") -> BounceEventCreate:
    return BounceEventCreate(
        source=source,
        provider="ses",
        provider_event_id=key,
        recipient=recipient,
        kind=kind,
        reason="user_unknown" if kind == "hard" else "mailbox_full",
        occurred_at=when,
        status="5.1.1" if kind == "hard" else "4.2.2",
        reply_code=550 if kind == "hard" else 452,
        diagnostic=f"{kind} bounce of {recipient}",
    )


def _record(settings: Settings, *events: BounceEventCreate) -> None:
    engine = make_engine(settings)
    try:
        record_events(engine, list(events), SuppressionConfig())
    finally:
        engine.dispose()


def _recipients(page: httpx.Response) -> list[str]:
    assert page.status_code == 200, page.text
    return [item["recipient"] for item in page.json()["items"]]


async def test_a_bounce_webhook_event_is_listed_and_suppresses(api: httpx.AsyncClient) -> None:
    body = (FIXTURES / "postmark_bounces/hard_bounce.json").read_bytes()
    stored = await api.post(
        f"/hooks/postmark-bounces/{POSTMARK_SECRET}", content=body, headers={"Content-Type": "application/json"}
    )
    assert stored.status_code == 200, stored.text
    page = (await api.get("/api/v1/bounces")).json()
    assert page["next_cursor"] is None
    [event] = page["items"]
    assert event["id"] == stored.json()["events"][0]["id"]
    assert (event["recipient"], event["kind"], event["reason"]) == ("nobody@example.org", "hard", "user_unknown")
    assert (event["source"], event["provider"], event["status"]) == ("postmark-bounces", "postmark-bounces", "5.1.1")
    assert event["occurred_at"] == "2025-03-04T10:21:07.123456Z"
    assert event["created_at"].endswith("Z") and event["message_id"] is None
    [entry] = (await api.get("/api/v1/suppressions")).json()["items"]
    assert (entry["address"], entry["kind"], entry["source"]) == ("nobody@example.org", "hard", "postmark-bounces")
    assert "hard bounce" in entry["reason"] and entry["expires_at"] is None


async def test_filters_combine_and_bound_when_the_bounce_occurred(api: httpx.AsyncClient, settings: Settings) -> None:
    _record(
        settings,
        _event("1", "Ghost@Example.org", "hard", T0),
        _event("2", "full@example.org", "soft", T0 + timedelta(hours=1)),
        _event("3", "ghost@example.org", "soft", T0 + timedelta(hours=2), source="improvmx-logs"),
    )
    get = api.get
    assert _recipients(await get("/api/v1/bounces")) == ["ghost@example.org", "full@example.org", "Ghost@Example.org"]
    by_recipient = await get("/api/v1/bounces", params={"recipient": "GHOST@example.ORG"})
    assert _recipients(by_recipient) == ["ghost@example.org", "Ghost@Example.org"]
    assert _recipients(await get("/api/v1/bounces", params={"kind": "hard"})) == ["Ghost@Example.org"]
    assert _recipients(await get("/api/v1/bounces", params={"source": "improvmx-logs"})) == ["ghost@example.org"]
    both = await get("/api/v1/bounces", params={"recipient": "ghost@example.org", "kind": "soft"})
    assert _recipients(both) == ["ghost@example.org"]
    # since is exclusive, until inclusive; ISO 8601 (any offset) or Unix seconds.
    since = await get("/api/v1/bounces", params={"since": T0.isoformat()})
    assert _recipients(since) == ["ghost@example.org", "full@example.org"]
    until = await get("/api/v1/bounces", params={"until": str(int((T0 + timedelta(hours=1)).timestamp()))})
    assert _recipients(until) == ["full@example.org", "Ghost@Example.org"]
    window = {"since": "2026-11-30T12:30:00+00:00", "until": "2026-11-30T14:30:00+01:00"}
    assert _recipients(await get("/api/v1/bounces", params=window)) == ["full@example.org"]
    assert _recipients(await get("/api/v1/bounces", params={"recipient": "nobody@example.org"})) == []


async def test_pages_are_exact_when_events_share_a_moment(api: httpx.AsyncClient, settings: Settings) -> None:
    # Five events in the same microsecond and five a second later: the cursor carries the id too.
    events = [_event(f"k{i}", f"r{i}@example.org", "delayed", T0 + timedelta(seconds=i // 5)) for i in range(10)]
    _record(settings, *events)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/api/v1/bounces", params=params)).json()
        seen += [item["recipient"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 4
    assert sorted(seen) == sorted(f"r{i}@example.org" for i in range(10)) and len(set(seen)) == 10
    assert seen[:5] == [f"r{i}@example.org" for i in (9, 8, 7, 6, 5)]  # newest first, then by id


async def test_a_read_token_lists_but_cannot_change_the_suppression_list(
    bounce_config: None, client: httpx.AsyncClient, settings: Settings
) -> None:
    assert (await client.get("/api/v1/bounces")).status_code == 401
    assert (await client.get("/api/v1/suppressions")).status_code == 401
    client.headers.update(bearer(make_token(settings, Scope.read)))
    assert (await client.get("/api/v1/bounces")).status_code == 200
    assert (await client.get("/api/v1/suppressions")).status_code == 200
    refused = await client.post("/api/v1/suppressions", json={"address": "a@example.org"})
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    assert (await client.delete("/api/v1/suppressions/a@example.org")).status_code == 403


async def test_suppressions_added_listed_and_removed_through_the_api(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    until = datetime.now(UTC) + timedelta(days=30)
    made = await api.post(
        "/api/v1/suppressions",
        json={"address": "Ada+Test@Example.org", "reason": "asked to stop", "expires_at": until.isoformat()},
    )
    assert made.status_code == 201, made.text
    entry = made.json()
    assert (entry["address"], entry["kind"], entry["reason"], entry["source"]) == (
        "ada+test@example.org",
        "manual",
        "asked to stop",
        "api",
    )
    assert datetime.fromisoformat(entry["expires_at"]) == until
    plain = await api.post("/api/v1/suppressions", json={"address": "bob@example.org"})
    assert plain.status_code == 201 and plain.json()["reason"] == "added through the API"
    assert plain.json()["expires_at"] is None
    # The forwarding steps' lookup sees both (whatever the case they are asked in).
    engine = make_engine(settings)
    try:
        assert set(active_suppressions(engine, ["ADA+test@example.org", "bob@EXAMPLE.org", "c@example.org"])) == {
            "ada+test@example.org",
            "bob@example.org",
        }
    finally:
        engine.dispose()
    listed = (await api.get("/api/v1/suppressions")).json()
    assert [e["address"] for e in listed["items"]] == ["bob@example.org", "ada+test@example.org"]
    one = await api.get("/api/v1/suppressions", params={"address": "BOB@example.org"})
    assert [e["address"] for e in one.json()["items"]] == ["bob@example.org"]
    # Adding again replaces the entry (new reason, no expiry).
    again = await api.post("/api/v1/suppressions", json={"address": "ada+test@example.org", "reason": "for good"})
    assert again.status_code == 201 and again.json()["expires_at"] is None
    assert (await api.delete("/api/v1/suppressions/ADA%2Btest@example.org")).status_code == 204
    missing = await api.delete("/api/v1/suppressions/ada+test@example.org")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert [e["address"] for e in (await api.get("/api/v1/suppressions")).json()["items"]] == ["bob@example.org"]


async def test_expired_entries_only_on_request_and_pages_of_suppressions(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    for i in range(5):
        assert (await api.post("/api/v1/suppressions", json={"address": f"s{i}@example.org"})).status_code == 201
    _record(settings, _event("old", "gone@example.org", "hard", T0))
    engine = make_engine(settings)
    try:  # an entry whose expiry has passed: kept for the record, not in force
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE suppression SET expires_at = ? WHERE address = ?", (datetime(2020, 1, 1), "gone@example.org")
            )
    finally:
        engine.dispose()
    in_force = (await api.get("/api/v1/suppressions", params={"limit": "200"})).json()["items"]
    assert "gone@example.org" not in [e["address"] for e in in_force] and len(in_force) == 5
    seen: list[str] = []
    params: dict[str, str] = {"limit": "2", "include_expired": "true"}
    while True:
        page = (await api.get("/api/v1/suppressions", params=params)).json()
        seen += [e["address"] for e in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert len(seen) == 6 and set(seen) == {f"s{i}@example.org" for i in range(5)} | {"gone@example.org"}


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({}, "address"),
        ({"address": "not-an-address"}, "address"),
        ({"address": "Ada <ada@example.org>"}, "address"),
        ({"address": 42}, "address"),
        ({"address": "a\x00b@example.org"}, "address"),
        ({"address": "a@example.org", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"address": "a@example.org", "expires_at": "next week"}, "expires_at"),
        ({"address": "a@example.org", "expires_at": 1893456000}, "expires_at"),
        ({"address": "a@example.org", "reason": ""}, "reason"),
        ({"address": "a@example.org", "reason": "x" * 501}, "reason"),
        ({"address": "a@example.org", "reason": ["spam"]}, "reason"),
        ({"address": "a@example.org", "expire_at": "2030-01-01T00:00:00Z"}, "expire_at"),
    ],
)
async def test_a_bad_suppression_is_400_naming_the_field(
    api: httpx.AsyncClient, body: dict[str, object], parameter: str
) -> None:
    response = await api.post("/api/v1/suppressions", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_parameter" and response.json()["details"] == {"parameter": parameter}


@pytest.mark.parametrize("content", [b"not json", b"[1, 2]", b'"ada@example.org"', b"[" * 5000 + b"]" * 5000])
async def test_a_body_that_is_not_a_json_object_is_400(api: httpx.AsyncClient, content: bytes) -> None:
    response = await api.post("/api/v1/suppressions", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"] == "bad_payload"
    assert json.loads(response.text)["message"]
