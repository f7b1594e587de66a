"""Inputs that got a 5xx or left a message stuck (issue 9), one decision per class:

* a lone surrogate escape (``"\\ud800"``) or NUL in any JSON string: stored, the character
  replaced by U+FFFD, an ``unstorable_text`` defect naming the fields; the worker posts it to Slack;
* an integer longer than Python's int-string limit: stored, kept as its digits, a
  ``json_integer_too_long`` defect (a field that must be a number then says so);
* JSON nested too deeply inside a string decoded a second time: 400 naming the field;
* any 500 that remains says ``Connection: close``, since the server closes the connection.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from service.mail.inbound import _TEXT_FIELDS, Address, InboundAttachment, InboundEmail, repair_text
from service.mail.storable import has_unstorable
from service.providers import INBOUND_PROVIDERS, PROVIDERS
from service.settings import Settings
from service.store.db import make_engine
from service.store.models import MessageStatus
from tests.support.deliveries import (
    CASES,
    SOURCES_YAML,
    HttpDelivery,
    Message,
    load_form_fixture,
    mailgun_delivery,
    multipart,
    post,
    stored_messages,
)
from tests.support.servers import FakeSlack

JSON_PROVIDERS = [name for name in sorted(INBOUND_PROVIDERS) if CASES[name].json_body]
# SNS signs each message as UTF-8, so a genuine one holds no lone surrogate (see below).
UNSIGNED_JSON = [name for name in JSON_PROVIDERS if name != "ses-inbound"]
# Over 4300 digits: ``int()`` refuses it (CVE-2020-10735), so ``json.loads`` raised ValueError.
HUGE = b"9" * 5000


def _with(provider: str, old: bytes, new: bytes, count: int = -1) -> HttpDelivery:
    """A valid delivery with ``old`` replaced in the JSON text (re-signed where the provider signs)."""
    case = CASES[provider]
    delivery = case.build(Message())
    assert old in delivery.body
    return case.resign(HttpDelivery(delivery.body.replace(old, new, count), delivery.headers, delivery.params))


@pytest.fixture
def sources(settings: Settings) -> None:
    settings.config.write_text(SOURCES_YAML)


@pytest.mark.usefixtures("sources")
@pytest.mark.parametrize("provider", UNSIGNED_JSON)
async def test_lone_surrogates_are_replaced_and_recorded(
    client: httpx.AsyncClient, settings: Settings, provider: str
) -> None:
    delivery = _with(provider, b"Your code is 246810", b"Your code is 246810 \\udfff\\ud800!")
    delivery = CASES[provider].resign(
        HttpDelivery(delivery.body.replace(b"alice@example.org", b"alice\\udc00@example.org"), delivery.headers)
    )
    response = await post(client, provider, delivery)
    assert response.status_code == 200, response.text
    [message] = stored_messages(settings)
    assert message.subject == "Your code is 246810 \ufffd\ufffd!"
    assert message.from_address == "alice\ufffd@example.org"
    # Named by field: Forward Email's subject and From come from its ``raw``, repaired as a whole.
    noted = " ".join(d for d in message.defects if d.startswith("unstorable_text: replaced in "))
    assert ("raw" in noted) if provider == "forwardemail" else ("subject" in noted and "header_from" in noted)


@pytest.mark.usefixtures("sources")
@pytest.mark.parametrize("escape", [b"\\udfff", b"\\\\udfff"], ids=["in-envelope", "in-message"])
async def test_lone_surrogate_in_a_signed_sns_message_is_401_not_500(client: httpx.AsyncClient, escape: bytes) -> None:
    # In the envelope's Message the canonical text SNS signs could not be encoded, and
    # verify_remote raised (a 500); decoded from the Message itself it reaches the parser.
    delivery = CASES["ses-inbound"].build(Message())
    body = delivery.body.replace(b"Your code is 246810", b"Your code is " + escape, 1)
    assert body != delivery.body
    response = await post(client, "ses-inbound", HttpDelivery(body, delivery.headers, delivery.params))
    assert response.status_code == 401, response.text


@pytest.mark.usefixtures("sources")
async def test_lone_surrogate_in_a_name_quoted_by_a_400_is_still_a_400(client: httpx.AsyncClient) -> None:
    # ImprovMX names the bad header in its error message: rendering that 400 raised (a 500).
    delivery = _with("improvmx", b'"X-Forwarding-Service": ', b'"X-\\ud800": 5, "X-Forwarding-Service": ')
    response = await post(client, "improvmx", delivery)
    assert response.status_code == 400
    assert response.json()["message"] == "header 'X-\ufffd' must be a string or a list of strings"


@pytest.mark.usefixtures("sources")
@pytest.mark.parametrize("provider", JSON_PROVIDERS)
async def test_integer_past_the_int_string_limit_is_kept_as_text(
    client: httpx.AsyncClient, settings: Settings, provider: str
) -> None:
    response = await post(client, provider, _with(provider, b"{", b'{"x-count": ' + HUGE + b", ", count=1))
    assert response.status_code == 200, response.text
    [message] = stored_messages(settings)
    assert "json_integer_too_long: body: 1 kept as digits" in message.defects


@pytest.mark.usefixtures("sources")
async def test_improvmx_timestamp_past_the_int_string_limit_uses_the_arrival_time(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await post(client, "improvmx", _with("improvmx", b'"timestamp": 1699953158', b'"timestamp": ' + HUGE))
    assert response.status_code == 200, response.text
    [message] = stored_messages(settings)
    assert message.received_at.year >= 2026
    assert "timestamp: not a number; used the arrival time" in message.defects


DEEP = "[" * 100_000


@pytest.mark.usefixtures("sources")
async def test_deep_nesting_in_proxiedmail_message_headers_is_400_naming_the_field(client: httpx.AsyncClient) -> None:
    delivery = CASES["proxiedmail"].build(Message())
    old = delivery.body[delivery.body.index(b'"message-headers": ') :].split(b'", "', 1)[0] + b'"'
    body = delivery.body.replace(old, b'"message-headers": "' + DEEP.encode() + b'"')
    response = await post(client, "proxiedmail", HttpDelivery(body, delivery.headers))
    assert response.status_code == 400, response.text
    assert response.json()["details"] == {"field": "payload.message-headers"}
    assert "nested too deeply" in response.json()["message"]


@pytest.mark.usefixtures("sources")
async def test_deep_nesting_in_form_json_fields_is_400_naming_the_field(client: httpx.AsyncClient) -> None:
    fields, files = load_form_fixture("mailgun/route.json")
    fields["message-headers"] = DEEP
    response = await post(client, "mailgun", mailgun_delivery(fields, files))
    assert (response.status_code, response.json()["details"]) == (400, {"field": "message-headers"})
    body, content_type = multipart({"headers": "From: a@example.org\n", "envelope": DEEP})
    response = await post(client, "sendgrid", HttpDelivery(body, {"content-type": content_type}))
    assert (response.status_code, response.json()["details"]) == (400, {"field": "envelope"})


@pytest.mark.usefixtures("sources")
async def test_a_500_tells_the_client_the_connection_closes(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Any, delivery: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(PROVIDERS["improvmx"], "parse", broken)
    response = await post(client, "improvmx", CASES["improvmx"].build(Message()))
    assert response.status_code == 500
    assert response.headers["connection"] == "close"
    assert response.json()["error"] == "internal_error"


# --- the worker side ---------------------------------------------------------------------------


async def test_repaired_delivery_reaches_slack_and_is_processed(
    client: httpx.AsyncClient,
    settings: Settings,
    write_config: Callable[..., Path],
    fake_slack: tuple[FakeSlack, str],
    run_worker: Callable[..., Any],
) -> None:
    slack, url = fake_slack
    write_config(slack_url=url)
    delivery = _with("improvmx", b"hook@in.example.com", b"hook\\ud800@in.example.com")
    assert (await post(client, "improvmx", delivery)).status_code == 200
    await run_worker()
    [message] = stored_messages(settings)
    assert message.status == MessageStatus.processed
    [posted] = slack.posts
    assert "hook\ufffd@in.example.com" in posted["text"]


async def test_row_stored_with_surrogates_before_the_repair_is_processed(
    client: httpx.AsyncClient,
    settings: Settings,
    write_config: Callable[..., Path],
    fake_slack: tuple[FakeSlack, str],
    run_worker: Callable[..., Any],
) -> None:
    # JSON columns held the escape (json.dumps writes "\ud800" as ASCII); reading it back gave a
    # lone surrogate, the Slack post raised UnicodeEncodeError and the message stayed processing.
    slack, url = fake_slack
    write_config(slack_url=url)
    assert (await post(client, "improvmx", CASES["improvmx"].build(Message()))).status_code == 200
    with make_engine(settings).begin() as conn:
        conn.execute(text("UPDATE message SET envelope_to = :to"), {"to": '["hook\\ud800@in.example.com"]'})
    await run_worker()
    [message] = stored_messages(settings)
    assert message.status == MessageStatus.processed
    assert "hook\ufffd@in.example.com" in slack.posts[0]["text"]


def _with_surrogate(name: str, value: Any, lone: str) -> Any:
    if name == "header_from":
        return Address(lone, "a@example.org")
    if isinstance(value, str) or value is None:
        return lone
    if name in ("to", "cc", "reply_to", "bcc"):
        return [Address(None, lone)]
    if name == "headers":
        return [("X-Test", lone)]
    if name == "attachments":
        return [InboundAttachment("a.txt", "text/plain", b"", content_id=lone)]
    if isinstance(value, dict):
        return {"k": lone}
    return [lone]


@pytest.mark.parametrize("lone", ["x\ud800", "x\x00"])
@pytest.mark.parametrize("name", _TEXT_FIELDS)
def test_repair_text_reaches_every_text_field(name: str, lone: str) -> None:
    email = InboundEmail(provider="p", source="s", idempotency_key="k", raw_payload=b"")
    setattr(email, name, _with_surrogate(name, getattr(email, name), lone))
    assert repair_text(email) == [name]
    assert not has_unstorable(getattr(email, name))
