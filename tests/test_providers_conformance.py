"""The same contract for every registered provider, over real HTTP.

Each inbound provider gets a valid-delivery factory in ``tests.support.deliveries.CASES``, each
bounce provider one in ``tests.support.bounce_deliveries.BOUNCE_CASES``; from them this suite
derives the ways a delivery can be wrong and checks the documented answer: 401 for secrets and
signatures, 415/400 for content types and shapes, never a 500 for hostile input, a JSON
``{error, message}`` body for every refusal, and one record for a redelivered message or event.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from service.providers import BOUNCE_PROVIDERS, INBOUND_PROVIDERS, PROVIDERS
from service.settings import Settings
from tests.support.bounce_deliveries import BOUNCE_CASES, stored_bounces
from tests.support.deliveries import (
    CASES,
    SECRETS,
    SOURCES_YAML,
    HttpDelivery,
    Message,
    ProviderCase,
    post,
    stale_mailgun,
    stored_messages,
)

ALL = sorted(PROVIDERS)
INBOUND = sorted(INBOUND_PROVIDERS)
BOUNCES = sorted(BOUNCE_PROVIDERS)
SIGNING = [name for name in INBOUND if CASES[name].tampered is not None]
SIGNING += [name for name in BOUNCES if BOUNCE_CASES[name].tampered is not None]
JSON_PROVIDERS = [name for name in INBOUND if CASES[name].json_body] + BOUNCES
FORM_OR_RAW = [name for name in INBOUND if not CASES[name].json_body]


@pytest.fixture(autouse=True)
def _sources(settings: Settings) -> None:
    settings.config.write_text(SOURCES_YAML)


def _refused(response: httpx.Response, status: int) -> dict[str, Any]:
    """Every refusal is JSON with a machine ``error`` code and a human ``message``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, dict) and isinstance(body["error"], str) and isinstance(body["message"], str)
    return body


def _valid(provider: str) -> HttpDelivery:
    return CASES[provider].build(Message()) if provider in CASES else BOUNCE_CASES[provider].build()


def _resign(provider: str, delivery: HttpDelivery) -> HttpDelivery:
    return (CASES[provider] if provider in CASES else BOUNCE_CASES[provider]).resign(delivery)


def _nothing_stored(settings: Settings) -> None:
    assert stored_messages(settings) == [] and stored_bounces(settings) == []


def _not_500(response: httpx.Response, settings: Settings) -> None:
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        _refused(response, 400)
    else:
        assert len(stored_messages(settings)) == 1


def test_every_registered_provider_has_a_conformance_case() -> None:
    assert set(CASES) == set(INBOUND_PROVIDERS) and set(BOUNCE_CASES) == set(BOUNCE_PROVIDERS)


@pytest.mark.parametrize("provider", INBOUND)
async def test_valid_delivery_is_stored_with_the_provider_success_status(
    client: httpx.AsyncClient, settings: Settings, provider: str
) -> None:
    response = await post(client, provider, CASES[provider].build(Message()))
    assert response.status_code == PROVIDERS[provider].success_status == 200, response.text
    assert [m["duplicate"] for m in response.json()["messages"]] == [False]
    [message] = stored_messages(settings)
    assert (message.provider, message.subject) == (provider, "Your code is 246810")


@pytest.mark.parametrize("provider", ALL)
async def test_missing_secret_is_401(client: httpx.AsyncClient, settings: Settings, provider: str) -> None:
    delivery = _valid(provider)
    response = await client.post(f"/hooks/{provider}", content=delivery.body, headers=delivery.headers)
    assert _refused(response, 401)["error"] == "unauthorized"
    # SNS (and other senders of Basic credentials) answer this challenge with the URL's password.
    assert response.headers["www-authenticate"] == 'Basic realm="mailhook"'
    _nothing_stored(settings)


@pytest.mark.parametrize("provider", ALL)
async def test_wrong_secret_is_401(client: httpx.AsyncClient, settings: Settings, provider: str) -> None:
    delivery = _valid(provider)
    wrong = SECRETS[provider][::-1]
    for response in (
        await client.post(f"/hooks/{provider}/{wrong}", content=delivery.body, headers=delivery.headers),
        await client.post(f"/hooks/{provider}", content=delivery.body, headers=delivery.headers, auth=("u", wrong)),
    ):
        assert _refused(response, 401)["message"] == "unknown source or wrong secret"
    _nothing_stored(settings)


@pytest.mark.parametrize("provider", SIGNING)
async def test_bad_signature_or_tampered_body_is_401(
    client: httpx.AsyncClient, settings: Settings, provider: str
) -> None:
    if provider in CASES:
        tampered = CASES[provider].tampered
        assert tampered is not None
        delivery = tampered(Message())
    else:
        make = BOUNCE_CASES[provider].tampered
        assert make is not None
        delivery = make()
    _refused(await post(client, provider, delivery), 401)
    _nothing_stored(settings)


async def test_signed_delivery_replayed_outside_the_window_is_401(client: httpx.AsyncClient) -> None:
    assert "stale" in _refused(await post(client, "mailgun", stale_mailgun(Message())), 401)["message"]


@pytest.mark.parametrize("provider", FORM_OR_RAW)
async def test_wrong_content_type_is_415_for_form_and_raw_providers(
    client: httpx.AsyncClient, settings: Settings, provider: str
) -> None:
    delivery = CASES[provider].build(Message())
    wrong = replace(delivery, headers={**delivery.headers, "content-type": "application/json"})
    assert _refused(await post(client, provider, wrong), 415)["error"] == "unsupported_media_type"
    assert stored_messages(settings) == []


@pytest.mark.parametrize("provider", JSON_PROVIDERS)
async def test_json_providers_ignore_the_content_type_but_need_json(client: httpx.AsyncClient, provider: str) -> None:
    # providers.md §1.2: ProxiedMail (and others) do not promise a Content-Type; parse leniently.
    delivery = _valid(provider)
    as_text = replace(delivery, headers={**delivery.headers, "content-type": "text/plain"})
    assert (await post(client, provider, as_text)).status_code == 200
    not_json = _resign(provider, HttpDelivery(b"From: a@b\r\n\r\nhello", {"content-type": "text/plain"}))
    assert _refused(await post(client, provider, not_json), 400)["error"] == "bad_payload"


@pytest.mark.parametrize("provider", [name for name in INBOUND if CASES[name].truncatable] + BOUNCES)
async def test_truncated_body_is_400(client: httpx.AsyncClient, settings: Settings, provider: str) -> None:
    delivery = _valid(provider)
    cut = _resign(provider, replace(delivery, body=delivery.body[: len(delivery.body) * 2 // 3]))
    _refused(await post(client, provider, cut), 400)
    _nothing_stored(settings)


@pytest.mark.parametrize("provider", ALL)
async def test_valid_document_of_the_wrong_shape_is_400(client: httpx.AsyncClient, provider: str) -> None:
    json_shapes = [b'{"unexpected": {"shape": [1, 2, 3]}}', b"{}", b"[]", b'"x"', b"null"]
    shapes = [HttpDelivery(body, {"content-type": "application/json"}) for body in json_shapes]
    if provider in CASES:
        shapes = [CASES[provider].wrong_shape(), *(shapes if CASES[provider].json_body else [])]
    for delivery in shapes:
        _refused(await post(client, provider, _resign(provider, delivery)), 400)


@pytest.mark.parametrize("provider", INBOUND)
async def test_one_megabyte_header_is_stored_or_400(
    client: httpx.AsyncClient, settings: Settings, provider: str
) -> None:
    message = Message(extra_headers=(("X-Big", "b" * 1_000_000),))
    response = await post(client, provider, CASES[provider].build(message))
    _not_500(response, settings)


@pytest.mark.parametrize("provider", INBOUND)
async def test_ten_thousand_recipients_are_stored_or_400(
    client: httpx.AsyncClient, settings: Settings, provider: str
) -> None:
    many = tuple(f"user{i}@recipients.example.net" for i in range(10_000))
    delivery = CASES[provider].build(Message(to=many, envelope_to=many))
    assert len(delivery.body) < settings.max_body_bytes
    response = await post(client, provider, delivery)
    _not_500(response, settings)
    if response.status_code == 200:
        assert len(stored_messages(settings)[0].to) == 10_000


@pytest.mark.parametrize("provider", INBOUND)
async def test_invalid_utf8_is_400_or_stored(client: httpx.AsyncClient, settings: Settings, provider: str) -> None:
    case = CASES[provider]
    delivery = case.build(Message())
    mangled = case.resign(replace(delivery, body=delivery.body.replace(b"246810", b"\xff\xfe\xc3(10")))
    assert mangled.body != delivery.body
    _not_500(await post(client, provider, mangled), settings)


@pytest.mark.parametrize("provider", INBOUND)
async def test_duplicate_delivery_returns_the_same_id(
    client: httpx.AsyncClient, settings: Settings, provider: str
) -> None:
    case: ProviderCase = CASES[provider]
    first = await post(client, provider, case.build(Message()))
    second = await post(client, provider, case.build(Message()))  # a retry, re-signed where the provider signs
    assert first.status_code == second.status_code == 200, second.text
    assert second.json()["messages"] == [{"id": first.json()["messages"][0]["id"], "duplicate": True}]
    assert len(stored_messages(settings)) == 1


@pytest.mark.parametrize("provider", JSON_PROVIDERS)
async def test_deeply_nested_json_is_400(client: httpx.AsyncClient, provider: str) -> None:
    delivery = _resign(provider, HttpDelivery(b"[" * 100_000, {"content-type": "application/json"}))
    _refused(await post(client, provider, delivery), 400)


HOSTILE = Message(
    date="Mon, 1 Jan 99999999999999999999 00:00:00 +0000",  # overflows datetime's C long
    extra_headers=(("Cc", "(" * 5000 + "cc@example.net"),),  # nested comments recurse in getaddresses
)


@pytest.mark.parametrize("provider", INBOUND)
async def test_hostile_date_and_address_headers_are_stored_or_400(
    client: httpx.AsyncClient, settings: Settings, provider: str
) -> None:
    _not_500(await post(client, provider, CASES[provider].build(HOSTILE)), settings)


@pytest.mark.parametrize("provider", BOUNCES)
async def test_bounce_delivery_stores_every_event_with_the_provider_success_status(
    client: httpx.AsyncClient, settings: Settings, provider: str
) -> None:
    case = BOUNCE_CASES[provider]
    response = await post(client, provider, case.build())
    assert response.status_code == PROVIDERS[provider].success_status == 200, response.text
    body = response.json()
    assert body["status"] == "accepted" and [e["duplicate"] for e in body["events"]] == [False] * case.events
    stored = stored_bounces(settings)
    assert len(stored) == case.events and {e.source for e in stored} == {provider}
    assert stored_messages(settings) == []


@pytest.mark.parametrize("provider", BOUNCES)
async def test_bounce_redelivery_creates_nothing_new(
    client: httpx.AsyncClient, settings: Settings, provider: str
) -> None:
    first = await post(client, provider, BOUNCE_CASES[provider].build())
    second = await post(client, provider, BOUNCE_CASES[provider].build())  # a retry, re-signed where signed
    assert first.status_code == second.status_code == 200, second.text
    ids = [e["id"] for e in first.json()["events"]]
    assert second.json()["events"] == [{"id": i, "duplicate": True} for i in ids]
    assert len(stored_bounces(settings)) == BOUNCE_CASES[provider].events


async def test_mailgun_event_with_a_used_token_is_401(client: httpx.AsyncClient, settings: Settings) -> None:
    # Only timestamp + token are signed, not the event: a captured signature must not carry a second event.
    delivery = BOUNCE_CASES["mailgun-events"].build()
    assert (await post(client, "mailgun-events", delivery)).status_code == 200
    forged = replace(delivery, body=delivery.body.replace(b"ghost@example.org", b"alice@example.org"))
    assert "replay" in _refused(await post(client, "mailgun-events", forged), 401)["message"]
    assert [b.recipient for b in stored_bounces(settings)] == ["ghost@example.org"]
