"""What each bounce-webhook provider would POST: one case per provider in ``BOUNCE_CASES``.

Each case builds a valid delivery from a fixture under ``tests/fixtures/<provider>/``, signed the
way the provider signs (fresh Mailgun tokens, SendGrid's ECDSA, Forward Email's HMAC, SNS's RSA
via the fake SNS), knows how many bounce events it must store, and can re-sign a mutated body
so that the parser, not the signature check, sees the mutation.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from service.settings import Settings
from service.store.bounces import BounceEvent
from service.store.db import make_engine
from tests.support.deliveries import (
    MAILGUN_KEYS,
    HttpDelivery,
    resign_sns,
    signed_forwardemail,
    sns_delivery,
)
from tests.support.fakes.sns import TOPIC, fake_sns
from tests.support.signing import sign_mailgun, sign_sendgrid

FIXTURES = Path(__file__).parent.parent / "fixtures"


def fixture(relative: str) -> Any:
    return json.loads((FIXTURES / relative).read_text())


def ses(message: dict[str, Any] | str, **overrides: str) -> HttpDelivery:
    return sns_delivery(fake_sns().notification(message, topic=TOPIC, **overrides))


def postmark(payload: dict[str, Any]) -> HttpDelivery:
    return HttpDelivery(json.dumps(payload).encode(), {"content-type": "application/json"})


def mailgun(payload: dict[str, Any], *, key: str = MAILGUN_KEYS[1], timestamp: int | None = None) -> HttpDelivery:
    """A Mailgun event with a fresh signature block, as every delivery gets one."""
    stamp, token = str(int(timestamp if timestamp is not None else time.time())), secrets.token_hex(25)
    signature = {"timestamp": stamp, "token": token, "signature": sign_mailgun(stamp, token, key)}
    body = json.dumps({**payload, "signature": signature}).encode()
    return HttpDelivery(body, {"content-type": "application/json"})


def sendgrid(events: list[dict[str, Any]] | bytes) -> HttpDelivery:
    body = events if isinstance(events, bytes) else json.dumps(events).encode()
    return _sign_sendgrid(HttpDelivery(body, {"content-type": "application/json"}))


def _sign_sendgrid(delivery: HttpDelivery) -> HttpDelivery:
    stamp = str(int(time.time()))
    headers = {
        **delivery.headers,
        "x-twilio-email-event-webhook-timestamp": stamp,
        "x-twilio-email-event-webhook-signature": sign_sendgrid(stamp, delivery.body),
    }
    return HttpDelivery(delivery.body, headers)


def forwardemail(payload: dict[str, Any] | bytes) -> HttpDelivery:
    return signed_forwardemail(payload)


def _same(delivery: HttpDelivery) -> HttpDelivery:
    return delivery


def _tamper(delivery: HttpDelivery) -> HttpDelivery:
    return HttpDelivery(delivery.body.replace(b"ghost", b"alice"), delivery.headers)


def _tampered_sns(delivery: HttpDelivery) -> HttpDelivery:
    envelope = json.loads(delivery.body)
    envelope["Message"] = envelope["Message"].replace("ghost", "alice")
    return HttpDelivery(json.dumps(envelope).encode(), delivery.headers)


@dataclass(frozen=True)
class BounceCase:
    """How to produce good and bad deliveries for one bounce provider."""

    source: str
    build: Callable[[], HttpDelivery]
    #: Bounce events the valid delivery stores (a batch may hold events that are not recorded).
    events: int
    resign: Callable[[HttpDelivery], HttpDelivery] = _same
    #: A delivery whose signature no longer matches; None for providers that do not sign.
    tampered: Callable[[], HttpDelivery] | None = None


def _mailgun_resign(delivery: HttpDelivery) -> HttpDelivery:
    try:
        data = json.loads(delivery.body)
    except (ValueError, RecursionError):
        return delivery
    return mailgun({k: v for k, v in data.items() if k != "signature"}) if isinstance(data, dict) else delivery


BOUNCE_CASES: dict[str, BounceCase] = {
    "ses": BounceCase(
        "ses",
        lambda: ses(fixture("ses/bounce_identity.json")),
        events=2,
        resign=resign_sns,
        tampered=lambda: _tampered_sns(ses(fixture("ses/bounce_identity.json"))),
    ),
    "postmark-bounces": BounceCase(
        "postmark-bounces", lambda: postmark(fixture("postmark_bounces/hard_bounce.json")), 1
    ),
    "mailgun-events": BounceCase(
        "mailgun-events",
        lambda: mailgun(fixture("mailgun_events/failed_permanent.json")),
        events=1,
        resign=_mailgun_resign,
        tampered=lambda: mailgun(fixture("mailgun_events/failed_permanent.json"), key="key-that-mailgun-never-used"),
    ),
    "sendgrid-events": BounceCase(
        "sendgrid-events",
        lambda: sendgrid(fixture("sendgrid_events/batch.json")),
        events=4,
        resign=_sign_sendgrid,
        tampered=lambda: _tamper(sendgrid(fixture("sendgrid_events/batch.json"))),
    ),
    "forwardemail-bounces": BounceCase(
        "forwardemail-bounces",
        lambda: forwardemail(fixture("forwardemail_bounces/reject_recipient.json")),
        events=1,
        resign=lambda d: forwardemail(d.body),
        tampered=lambda: _tamper(forwardemail(fixture("forwardemail_bounces/reject_recipient.json"))),
    ),
}


def stored_bounces(settings: Settings) -> list[BounceEvent]:
    with Session(make_engine(settings)) as session:
        return list(session.exec(select(BounceEvent).order_by(col(BounceEvent.id))))
