"""Fuzz every adapter's ``verify``/``parse``/``check_replay`` directly (no network, no database).

Random bytes, random JSON-ish documents, random forms and mutated valid deliveries: whatever
comes in, an adapter may only refuse with a ``MailhookError`` that maps to 400/401/403/413/415 (a
500 would make providers retry a poison delivery forever), and what it accepts must be storable:
emails for inbound providers, bounce events (within the model's taxonomy) for bounce providers.

The JSON values include the classes an outside fuzz run found with 5xx answers (issue 9): lone
surrogate escapes (and NUL, which PostgreSQL refuses), integers past Python's int-string limit,
and JSON nested past the decoder's recursion limit inside strings decoded a second time; ``test_hostile_values_*``
plants them into valid deliveries of every JSON provider, so they reach past the shape checks.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from service.config import SourceConfig
from service.errors import MailhookError
from service.ingest.nonces import NonceCache
from service.mail.bounce import KINDS, REASONS
from service.mail.inbound import InboundEmail
from service.mail.storable import has_unstorable
from service.providers import BOUNCE_PROVIDERS, INBOUND_PROVIDERS, PROVIDERS
from service.providers.base import Delivery, Provider
from service.store.bounces import BounceEventCreate
from service.store.ids import new_id
from service.store.message_rows import SQLITE, message_values
from tests.support.bounce_deliveries import BOUNCE_CASES
from tests.support.deliveries import (
    CASES,
    FORWARDEMAIL_KEYS,
    MAILGUN_KEYS,
    HttpDelivery,
    Message,
    multipart,
    urlencoded,
)
from tests.support.fakes.sns import INBOUND_TOPIC, TOPIC
from tests.support.signing import SENDGRID_PUBLIC_KEY

ALL = sorted(PROVIDERS)
FUZZ = hypothesis_settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
KEYS = {
    "forwardemail": list(FORWARDEMAIL_KEYS),
    "forwardemail-bounces": list(FORWARDEMAIL_KEYS),
    "mailgun": list(MAILGUN_KEYS),
    "mailgun-events": list(MAILGUN_KEYS),
    "sendgrid-events": [SENDGRID_PUBLIC_KEY],
}
# Field names the adapters look for, so random documents reach past the first ``require``.
FIELDS = [
    *("id payload recipient recipients headers from to cc replyTo subject message-id date session raw".split()),
    *("attachments inlines headerLines html text messageId return-path timestamp content data type".split()),
    *("value group address name email Name Value Content ContentType ContentID MessageID Headers".split()),
    *("FromFull ToFull CcFull Attachments RawEmail OriginalRecipient Date Subject arrivalDate sender".split()),
    *("message-headers body-mime body-plain content-id-map envelope charsets attachment-info content-ids".split()),
    *("token signature dkim spf SPF Message-Id".split()),
    # bounce providers: SNS envelopes and SES, Postmark, Mailgun, SendGrid, Forward Email events
    *("Type Message MessageId TopicArn Timestamp SignatureVersion Signature SigningCertURL".split()),
    *("notificationType eventType bounce complaint deliveryDelay mail receipt bouncedRecipients".split()),
    *("emailAddress diagnosticCode status feedbackId RecordType ID Email Details BouncedAt".split()),
    *("event-data event severity reason delivery-status code email sg_event_id response_code".split()),
]
CONTENT_TYPES = [
    "application/json",
    "text/plain",
    "message/rfc822",
    "application/octet-stream",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xYzZY",
    "multipart/form-data",
    "multipart/form-data; boundary=" + "b" * 300,
    "",
]


class HugeInt(str):
    """An integer literal longer than ``int()`` converts (4300 digits); ``dumps`` writes it bare."""


def dumps(value: Any) -> str:
    """``json.dumps`` that writes ``HugeInt`` as a bare number (json.dumps cannot: it would have
    to convert it to int first). Surrogates come out as ``\\udXXX`` escapes (ensure_ascii)."""
    huge: list[str] = []

    def mark(item: Any) -> Any:
        if isinstance(item, HugeInt):
            huge.append(str(item))
            return f"@@huge{len(huge) - 1}@@"
        if isinstance(item, list):
            return [mark(i) for i in item]
        if isinstance(item, dict):
            return {k: mark(v) for k, v in item.items()}
        return item

    text = json.dumps(mark(value))
    for index, digits in enumerate(huge):
        text = text.replace(f'"@@huge{index}@@"', digits, 1)
    return text


# Lone surrogates (category Cs) inside ordinary text; NUL too, which PostgreSQL text refuses.
surrogate_text = st.builds(
    lambda head, lone, tail: head + lone + tail,
    st.text(max_size=6),
    st.characters(categories=["Cs"]) | st.just("\x00"),
    st.text(max_size=6),
)
huge_ints = st.sampled_from([HugeInt("7" * 4301), HugeInt("-" + "1" * 5000)])
# JSON text for a string field decoded a second time: nested past the recursion limit (closed or
# not), or a small document holding the other hostile classes.
deep_json_text = st.sampled_from(["[" * 1100, "[" * 3000 + "]" * 3000, '{"a":' * 1500 + "1" + "}" * 1500])
hostile = surrogate_text | huge_ints | deep_json_text
nested_hostile_text = st.lists(st.tuples(surrogate_text, surrogate_text).map(list) | huge_ints, max_size=3).map(dumps)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | hostile
    | nested_hostile_text
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=15,
)
documents = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8)
# SendGrid's ``charsets`` names a codec per field: include ones that are not text codecs at all.
codecs = st.sampled_from(["utf-8", "iso-8859-1", "utf-16", "idna", "punycode", "base64", "undefined", "x-nope"])
charsets = st.dictionaries(
    st.sampled_from(["text", "html", "subject", "from", "to", "cc"]), codecs | st.text(max_size=10)
)
field_values = st.text(max_size=60) | json_values.map(dumps) | charsets.map(json.dumps)
# A form that passes the shape checks of both form providers, so overlays reach the decoding code.
VALID_FORM = {
    "headers": "From: A <a@example.com>\nSubject: s\nMessage-ID: <x@example.com>\n",
    "envelope": '{"to": ["b@example.net"], "from": "a@example.com"}',
    "recipient": "b@example.net",
    "from": "A <a@example.com>",
    "message-headers": '[["From", "a@example.com"]]',
    "text": "caf\u00e9",
}
forms = st.builds(
    lambda keep, declared, extra: {**{k: v for k, v in VALID_FORM.items() if k in keep}, **declared, **extra},
    st.sets(st.sampled_from(sorted(VALID_FORM))),
    st.fixed_dictionaries({}, optional={"charsets": charsets.map(json.dumps)}),
    st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=8),
)
mutations = st.lists(
    st.tuples(st.floats(0, 1), st.sampled_from(["flip", "delete", "insert", "truncate"]), st.binary(max_size=6)),
    min_size=1,
    max_size=4,
)


def _source(provider: str, signed: bool) -> SourceConfig:
    keys = KEYS.get(provider, []) if signed else []
    return SourceConfig(
        name="fuzz",
        provider=provider,
        secrets=["fuzz-secret-0123456789"],
        signing_keys=keys,
        topic_arns=[TOPIC, INBOUND_TOPIC],
    )


def _check_storable(email: InboundEmail) -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", email.idempotency_key)
    assert len(email.raw_content_type) <= 255 and isinstance(email.raw_payload, bytes)
    assert all(len(a.content_type) <= 255 and isinstance(a.data, bytes) for a in email.attachments)
    assert email.provider_event_id is None or len(email.provider_event_id) <= 255
    json.dumps([email.headers, email.auth, email.defects, email.envelope_to, [a.as_dict() for a in email.to]])
    # What the SQLite driver does with every text value (and the Slack step with the JSON ones):
    # encode it as UTF-8. A lone surrogate there failed the group commit (503) or the worker.
    assert not any(has_unstorable(getattr(email, name)) for name in email.__dataclass_fields__)
    for value in message_values(new_id(), email, None, None, SQLITE):
        if isinstance(value, str):
            value.encode("utf-8")
    assert all(a.filename is None or not set(a.filename) & set("/\\\x00") for a in email.attachments)


def _check_event(event: BounceEventCreate) -> None:
    assert event.kind in KINDS and event.reason in REASONS
    assert 0 < len(event.provider_event_id) <= 255 and 0 < len(event.recipient) <= 320
    assert event.occurred_at.tzinfo is not None
    assert event.reply_code is None or isinstance(event.reply_code, int)
    json.dumps(event.raw)


def _exercise(provider: str, body: bytes, headers: dict[str, str], query: dict[str, str] | None = None) -> None:
    """Run verify → parse → check_replay, for a source without and with signing keys."""
    for signed in (False, True):
        delivery = Delivery(source=_source(provider, signed), body=body, headers=headers, query=query or {})
        adapter = (INBOUND_PROVIDERS.get(provider) or BOUNCE_PROVIDERS[provider])()  # both kinds parse
        try:
            adapter.verify(delivery)
            emails = adapter.parse(delivery)
            if type(adapter).check_replay is not Provider.check_replay:  # an event loop costs ~1 ms
                asyncio.run(adapter.check_replay(delivery, NonceCache(None)))
        except MailhookError as exc:
            assert exc.status_code in (400, 401, 403, 413, 415), exc
            continue
        for item in emails:
            if isinstance(item, InboundEmail):
                _check_storable(item)
            else:
                _check_event(item)


def _mutate(body: bytes, steps: list[tuple[float, str, bytes]]) -> bytes:
    for where, op, data in steps:
        at = int(where * len(body))
        if op == "flip" and body:
            at = min(at, len(body) - 1)
            body = body[:at] + bytes([body[at] ^ 0xFF]) + body[at + 1 :]
        elif op == "delete":
            body = body[:at] + body[at + len(data) + 1 :]
        elif op == "insert":
            body = body[:at] + data + body[at:]
        else:
            body = body[:at]
    return body


@pytest.mark.parametrize("provider", ALL)
@FUZZ
@given(
    body=st.binary(max_size=2048),
    content_type=st.sampled_from(CONTENT_TYPES),
    query=st.dictionaries(st.sampled_from(["to", "from", "raw"]), st.text(max_size=30)),
)
def test_random_bytes_are_refused_cleanly(provider: str, body: bytes, content_type: str, query: dict[str, str]) -> None:
    _exercise(provider, body, {"content-type": content_type, "x-webhook-signature": "00"}, query)


@pytest.mark.parametrize("provider", ALL)
@FUZZ
@given(document=documents | json_values, content_type=st.sampled_from(["application/json", "text/plain"]))
def test_random_json_documents_are_refused_cleanly(provider: str, document: Any, content_type: str) -> None:
    _exercise(provider, dumps(document).encode(), {"content-type": content_type})


@pytest.mark.parametrize("provider", ALL)
@FUZZ
@given(fields=forms, as_multipart=st.booleans())
def test_random_forms_are_refused_cleanly(provider: str, fields: dict[str, str], as_multipart: bool) -> None:
    if as_multipart:
        body, content_type = multipart(fields)
    else:
        body, content_type = urlencoded(fields), "application/x-www-form-urlencoded"
    _exercise(provider, body, {"content-type": content_type})


@pytest.mark.parametrize("provider", ALL)
@FUZZ
@given(steps=mutations)
def test_mutated_valid_deliveries_are_refused_or_stored(provider: str, steps: list[tuple[float, str, bytes]]) -> None:
    case = CASES.get(provider) or BOUNCE_CASES[provider]
    valid = CASES[provider].build(Message()) if provider in CASES else BOUNCE_CASES[provider].build()
    mutated = case.resign(valid.__class__(_mutate(valid.body, steps), valid.headers, valid.params))
    _exercise(provider, mutated.body, mutated.headers, dict(mutated.params))


JSON_PROVIDERS = [name for name in ALL if name in BOUNCE_CASES or CASES[name].json_body]


def _valid(provider: str) -> HttpDelivery:
    if provider in BOUNCE_CASES:
        return BOUNCE_CASES[provider].build()
    return CASES[provider].build(Message(attachment=b"\x00a\xff"))


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every position in a JSON document (the root excluded), containers and leaves."""
    found: list[tuple[Any, ...]] = [at] if at else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        found += _paths(item, (*at, key))
    return found


def _plant(document: Any, path: tuple[Any, ...], value: Any) -> None:
    """Put ``value`` at ``path``, unless an earlier plant replaced what led there."""
    *parents, last = path
    try:
        for key in parents:
            document = document[key]
        document[last] = value
    except (KeyError, IndexError, TypeError):
        pass


@pytest.mark.parametrize("provider", JSON_PROVIDERS)
@FUZZ
@given(data=st.data())
def test_hostile_values_in_valid_deliveries_are_stored_or_refused(provider: str, data: st.DataObject) -> None:
    """A valid delivery of each JSON provider (inbound and bounce) with hostile values planted at
    random positions: replacing any field (so double-decoded ones, ProxiedMail's
    ``message-headers`` or an SNS ``Message``, get deep or hostile JSON text) or added as new
    keys. Stored with repairs, or a 4xx; never an error."""
    case = BOUNCE_CASES.get(provider) or CASES[provider]
    valid = _valid(provider)
    document = json.loads(valid.body)
    plants = data.draw(
        st.lists(st.tuples(st.sampled_from(_paths(document)), hostile | nested_hostile_text), max_size=4)
    )
    for path, value in plants:
        _plant(document, path, value)
    if isinstance(document, dict):
        document.update(data.draw(st.dictionaries(st.text(max_size=6) | surrogate_text, hostile, max_size=2)))
    planted = HttpDelivery(dumps(document).encode(), valid.headers, valid.params)
    try:
        delivery = case.resign(planted)
    except UnicodeEncodeError:  # SNS signs UTF-8 text: no genuine signature holds a lone surrogate
        delivery = planted
    _exercise(provider, delivery.body, delivery.headers, dict(delivery.params))
