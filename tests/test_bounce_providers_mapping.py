"""Each bounce provider's facts mapped onto the one bounce model (bounces.md §7 cross-provider table).

Adapters are called directly (``verify`` + ``parse``): the HTTP contract is the conformance suite's.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from service.config import SourceConfig
from service.errors import BadPayload
from service.providers import BOUNCE_PROVIDERS
from service.providers.base import Delivery
from service.store.bounces import BounceEventCreate
from tests.support.bounce_deliveries import fixture, forwardemail, mailgun, postmark, sendgrid, ses
from tests.support.deliveries import FORWARDEMAIL_KEYS, MAILGUN_KEYS, HttpDelivery
from tests.support.fakes.sns import TOPIC
from tests.support.signing import SENDGRID_PUBLIC_KEY

KEYS = {
    "forwardemail-bounces": list(FORWARDEMAIL_KEYS),
    "mailgun-events": list(MAILGUN_KEYS),
    "sendgrid-events": [SENDGRID_PUBLIC_KEY],
}


def parse(provider: str, delivery: HttpDelivery) -> list[BounceEventCreate]:
    source = SourceConfig(
        name=provider,
        provider=provider,
        secrets=["0123456789abcdef0123"],
        signing_keys=KEYS.get(provider, []),
        topic_arns=[TOPIC],
    )
    adapter = BOUNCE_PROVIDERS[provider]()
    request = Delivery(source, delivery.body, delivery.headers, {})
    adapter.verify(request)
    return adapter.parse(request)


def verdicts(events: list[BounceEventCreate]) -> list[tuple[str, str, str, str | None, int | None]]:
    return [(e.recipient, e.kind, e.reason, e.status, e.reply_code) for e in events]


def test_ses_identity_bounce_one_event_per_recipient() -> None:
    events = parse("ses", ses(fixture("ses/bounce_identity.json")))
    assert verdicts(events) == [
        ("ghost@example.org", "hard", "user_unknown", "5.1.1", 550),
        # a 5.7.1 block is permanent but says nothing about the address: soft (bounce.py)
        ("Alice@example.net", "soft", "policy", "5.7.1", 554),
    ]
    assert {e.reporting_mta for e in events} == {"mx.example.org"}
    assert events[0].provider_event_id == "0102018e0a1b2c3d-aaaa-bbbb-cccc-ddddeeee0001-000000|ghost@example.org"
    assert events[0].occurred_at.isoformat() == "2025-03-04T10:15:29+00:00"


def test_ses_event_publishing_transient_mailbox_full_is_soft() -> None:
    [event] = parse("ses", ses(fixture("ses/bounce_event_publishing.json")))
    assert verdicts([event]) == [("dave@example.net", "soft", "mailbox_full", "5.2.2", 552)]
    assert event.original_message_id == "<o-8812@example.com>"


def test_ses_complaint_and_not_spam_feedback() -> None:
    complaint = fixture("ses/complaint_identity.json")
    [event] = parse("ses", ses(complaint))
    assert (event.recipient, event.kind, event.reason) == ("carol@example.com", "complaint", "policy")
    complaint["complaint"]["complaintFeedbackType"] = "not-spam"
    assert parse("ses", ses(complaint)) == []


def test_ses_delivery_delay_is_delayed() -> None:
    [event] = parse("ses", ses(fixture("ses/delivery_delay.json")))
    assert verdicts([event]) == [("slow@example.com", "delayed", "other", "4.4.1", 421)]


@pytest.mark.parametrize(
    ("subtype", "expected"),
    [("NoEmail", ("hard", "user_unknown")), ("OnAccountSuppressionList", ("hard", "other")), ("Undetermined", None)],
)
def test_ses_bounce_subtypes(subtype: str, expected: tuple[str, str] | None) -> None:
    message = copy.deepcopy(fixture("ses/bounce_identity.json"))
    message["bounce"]["bounceSubType"] = subtype
    if subtype == "Undetermined":
        message["bounce"]["bounceType"] = "Undetermined"
        expected = ("soft", "other")
    events = parse("ses", ses(message))
    assert {(e.kind, e.reason) for e in events} == {expected}


def test_ses_bounce_without_recipients_is_400() -> None:
    message = copy.deepcopy(fixture("ses/bounce_identity.json"))
    message["bounce"]["bouncedRecipients"] = []
    with pytest.raises(BadPayload):
        parse("ses", ses(message))


def test_postmark_hard_bounce_and_spam_complaint() -> None:
    [hard] = parse("postmark-bounces", postmark(fixture("postmark_bounces/hard_bounce.json")))
    assert verdicts([hard]) == [("nobody@example.org", "hard", "user_unknown", "5.1.1", 550)]
    assert hard.provider_event_id == "Bounce|4323372036"
    # Postmark's example sends TypeCode 512 (SpamNotification) with Type SpamComplaint: Type wins.
    [complaint] = parse("postmark-bounces", postmark(fixture("postmark_bounces/spam_complaint.json")))
    assert (complaint.kind, complaint.reason) == ("complaint", "policy")


@pytest.mark.parametrize(
    ("bounce_type", "expected"),
    [
        ("Transient", [("delayed", "user_unknown")]),
        ("SoftBounce", [("soft", "user_unknown")]),
        ("DnsError", [("soft", "domain_not_found")]),
        ("Blocked", [("soft", "policy")]),
        ("AutoResponder", []),
        ("SomethingNew", [("soft", "other")]),
    ],
)
def test_postmark_types(bounce_type: str, expected: list[tuple[str, str]]) -> None:
    payload = {**fixture("postmark_bounces/hard_bounce.json"), "Type": bounce_type}
    assert [(e.kind, e.reason) for e in parse("postmark-bounces", postmark(payload))] == expected


def _mailgun_event(**changes: Any) -> dict[str, Any]:
    payload = fixture("mailgun_events/failed_permanent.json")
    payload["event-data"].update(changes)
    return payload


def test_mailgun_failed_permanent_is_hard_and_temporary_is_delayed() -> None:
    [hard] = parse("mailgun-events", mailgun(_mailgun_event()))
    assert verdicts([hard]) == [("ghost@example.org", "hard", "user_unknown", "5.1.1", 550)]
    assert hard.original_message_id == "<20250304101500.1.AB12CD34@mg.example.com>"
    assert hard.provider_event_id == "Gx4PpT2sQw6mZ0YbN3kR1a|ghost@example.org"
    [later] = parse("mailgun-events", mailgun(_mailgun_event(severity="temporary")))
    assert later.kind == "delayed"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"reason": "suppress-bounce"}, [("hard", "user_unknown")]),
        ({"reason": "suppress-complaint"}, [("complaint", "policy")]),
        ({"reason": "suppress-unsubscribe"}, []),
        ({"reason": "espblock"}, [("soft", "policy")]),
        ({"reason": "old", "delivery-status": None}, [("soft", "expired")]),
        ({"event": "complained"}, [("complaint", "policy")]),
        ({"event": "delivered"}, []),
    ],
)
def test_mailgun_reasons(changes: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    events = parse("mailgun-events", mailgun(_mailgun_event(**changes)))
    assert [(e.kind, e.reason) for e in events] == expected


def test_mailgun_stale_signature_is_refused() -> None:
    with pytest.raises(Exception, match="stale"):
        parse("mailgun-events", mailgun(_mailgun_event(), timestamp=1_000_000_000))


def test_sendgrid_batch_maps_each_event_and_skips_deliveries() -> None:
    events = parse("sendgrid-events", sendgrid(fixture("sendgrid_events/batch.json")))
    assert verdicts(events) == [
        ("ghost@example.org", "hard", "user_unknown", "5.1.1", 550),
        ("bob@example.net", "soft", "policy", "5.7.1", 554),
        ("slow@example.com", "delayed", "policy", "4.7.1", 451),  # greylisting is x.7.x
        ("carol@example.com", "complaint", "policy", None, None),
    ]
    assert (
        events[0].original_message_id == "<o-77@example.com>"
        and events[0].provider_event_id == "YmNlLWJvdW5jZS0xMjM0NQ"
    )


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("Bounced Address", [("hard", "user_unknown")]),
        ("Unsubscribed Address", []),
        ("Spam Reporting Address", [("complaint", "policy")]),
    ],
)
def test_sendgrid_dropped(reason: str, expected: list[tuple[str, str]]) -> None:
    event = {
        "email": "x@example.org",
        "timestamp": 1741083700,
        "event": "dropped",
        "reason": reason,
        "sg_event_id": "d1",
    }
    assert [(e.kind, e.reason) for e in parse("sendgrid-events", sendgrid([event]))] == expected


def test_sendgrid_signature_over_other_bytes_is_refused() -> None:
    signed = sendgrid(fixture("sendgrid_events/batch.json"))
    with pytest.raises(Exception, match="does not verify"):
        parse("sendgrid-events", HttpDelivery(signed.body + b" ", signed.headers))


def test_sendgrid_batch_with_one_malformed_event_is_refused_whole() -> None:
    batch = [*fixture("sendgrid_events/batch.json"), {"event": "bounce"}]
    with pytest.raises(BadPayload):
        parse("sendgrid-events", sendgrid(batch))


def test_forwardemail_reject_recipient_is_hard() -> None:
    [event] = parse("forwardemail-bounces", forwardemail(fixture("forwardemail_bounces/reject_recipient.json")))
    assert verdicts([event]) == [("ghost@example.org", "hard", "user_unknown", "5.1.1", 550)]
    assert event.original_message_id == "<o-91@example.com>"


@pytest.mark.parametrize(
    ("bounce", "expected"),
    [
        ({"action": "defer", "category": "network", "code": 421}, ("delayed", "other")),
        ({"action": "reject", "category": "capacity"}, ("soft", "mailbox_full")),
        ({"action": "reject", "category": "blocklist"}, ("soft", "policy")),
        ({"action": "reject", "category": "dns"}, ("hard", "domain_not_found")),
    ],
)
def test_forwardemail_categories(bounce: dict[str, Any], expected: tuple[str, str]) -> None:
    payload = {"recipient": "x@example.org", "response": "remote said no", "response_code": 0, "bounce": bounce}
    [event] = parse("forwardemail-bounces", forwardemail(payload))
    assert (event.kind, event.reason) == expected


def test_forwardemail_bounce_without_a_key_configured_is_refused_by_config() -> None:
    with pytest.raises(ValueError, match="signing_keys"):
        SourceConfig.model_validate(
            {"name": "fe", "provider": "forwardemail-bounces", "secrets": ["0123456789abcdef0123"]},
            context={"providers": BOUNCE_PROVIDERS},
        )


def test_ses_source_without_topics_is_refused_by_config() -> None:
    with pytest.raises(ValueError, match="topic_arns"):
        SourceConfig.model_validate(
            {"name": "ses", "provider": "ses", "secrets": ["0123456789abcdef0123"]},
            context={"providers": BOUNCE_PROVIDERS},
        )


def test_events_are_json_serialisable() -> None:
    for event in parse("sendgrid-events", sendgrid(fixture("sendgrid_events/batch.json"))):
        json.dumps(event.raw)
