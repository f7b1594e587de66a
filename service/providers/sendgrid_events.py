"""SendGrid Event Webhook: ``bounce``, ``dropped``, ``deferred`` and ``spamreport`` events
(../shared/bounces.md §4).

A JSON array of events, batched, posted in parallel from several servers and retried for 24 h
on any non-2xx. The batch is answered 200 only once every event in it is stored; other event
types (processed, delivered, open, click …) are acknowledged and not recorded.

With a verification key in ``signing_keys`` (the console's base64 DER public key), the Signed
Event Webhook is checked: ``X-Twilio-Email-Event-Webhook-Signature`` is a base64 DER ECDSA
signature over ``timestamp header + raw body`` with SHA-256. The body is signed whole, so a
replayed batch can only repeat events already stored (ids dedupe); no freshness rule is
documented and retries may well carry the original timestamp, so none is imposed.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from service.config import SourceConfig
from service.errors import BadPayload, Unauthorized
from service.mail.bounce import BouncedRecipient, Kind, Reason
from service.mail.bounce_rules import (
    event_key,
    kind_for,
    parse_reply_code,
    parse_status,
    reason_for,
)
from service.mail.inbound import from_timestamp, normalise_message_id
from service.providers.base import BounceProvider, Delivery, load_json
from service.store.bounces import BounceEventCreate

SIGNATURE = "x-twilio-email-event-webhook-signature"
TIMESTAMP = "x-twilio-email-event-webhook-timestamp"
# bounce_classification [T: SendGrid's OpenAPI] -> reason.
_CLASSIFICATION: dict[str, Reason] = {
    "Invalid Address": "user_unknown",
    "Mailbox Unavailable": "mailbox_full",
    "Technical Failure": "other",
    "Reputation": "policy",
    "Content": "policy",
    "Frequency or Volume Too High": "policy",
    "Unclassified": "other",
}
# dropped ``reason`` -> (kind, reason), None = not a failure of the address (skip).
_DROPPED: dict[str, tuple[Kind, Reason] | None] = {
    "Bounced Address": ("hard", "user_unknown"),
    "Invalid": ("hard", "user_unknown"),
    "Spam Reporting Address": ("complaint", "policy"),
    "Unsubscribed Address": None,
    "Invalid SMTPAPI header": None,  # our request was malformed, not the recipient's problem
    "Spam Content": ("soft", "policy"),
}
_RECORDED = frozenset({"bounce", "dropped", "deferred", "spamreport"})


def load_key(text: str) -> ec.EllipticCurvePublicKey:
    """The console/API shows the key as base64 DER SubjectPublicKeyInfo; both SDK and anymail wrap
    it in PEM armour. A full PEM block is accepted as is."""
    pem = (
        text if "BEGIN PUBLIC KEY" in text else f"-----BEGIN PUBLIC KEY-----\n{text.strip()}\n-----END PUBLIC KEY-----"
    )
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("not an elliptic-curve public key")
    return key


class SendGridEvents(BounceProvider):
    """SendGrid Event Webhook (batched JSON array, optional ECDSA signature)."""

    name = "sendgrid-events"

    @classmethod
    def check_source(cls, source: SourceConfig) -> None:
        for key in source.signing_keys:
            try:
                load_key(key.get_secret_value())
            except (ValueError, TypeError):
                raise ValueError("sendgrid-events signing_keys must be the Event Webhook's public key") from None

    def verify(self, delivery: Delivery) -> None:
        keys = delivery.source.signing_keys
        if not keys:
            return
        signature, timestamp = delivery.headers.get(SIGNATURE), delivery.headers.get(TIMESTAMP)
        if not signature or not timestamp:
            raise Unauthorized("missing SendGrid Event Webhook signature headers")
        try:
            der = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            raise Unauthorized("SendGrid signature is not base64") from None
        signed = timestamp.encode("utf-8", "replace") + delivery.body
        matched = False
        for key in keys:  # every key: rotation
            try:
                load_key(key.get_secret_value()).verify(der, signed, ec.ECDSA(hashes.SHA256()))
                matched = True
            except InvalidSignature:
                continue
        if not matched:
            raise Unauthorized("SendGrid signature does not verify with any configured key")

    def parse(self, delivery: Delivery) -> list[BounceEventCreate]:
        events = load_json(delivery.body)
        if not isinstance(events, list):
            raise BadPayload(f"expected a JSON array of events, got {type(events).__name__}")
        if not events:
            raise BadPayload("the event array is empty")
        found = []
        for index, item in enumerate(events):
            if not isinstance(item, dict):
                raise BadPayload(f"event [{index}] must be an object", details={"field": f"[{index}]"})
            event = self._event(delivery, item, index)
            if event is not None:
                found.append(event)
        return found

    def _event(self, delivery: Delivery, item: dict[str, Any], index: int) -> BounceEventCreate | None:
        name, email = item.get("event"), item.get("email")
        if not isinstance(name, str) or not isinstance(email, str) or not email.strip() or len(email) > 320:
            raise BadPayload(f"event [{index}] needs 'event' and 'email'", details={"field": f"[{index}]"})
        if name not in _RECORDED:
            return None
        text = _text(item.get("reason")) or _text(item.get("response"))
        status = _text(item.get("status")) or parse_status(text)
        code = parse_reply_code(text)
        verdict = _verdict(name, item, status, code, text)
        if verdict is None:
            return None
        kind, reason = verdict
        event_id, stamp = _text(item.get("sg_event_id")), item.get("timestamp")
        when = from_timestamp(stamp) if isinstance(stamp, int | float) and not isinstance(stamp, bool) else None
        smtp_id = _text(item.get("smtp-id"))
        original = normalise_message_id(smtp_id) if smtp_id else None
        key = event_id[:255] if event_id else event_key(name, email.lower(), stamp, text)
        bounced = BouncedRecipient(email, status, code, text, kind, reason)
        return self.event(delivery, key, bounced, when, original_message_id=original, raw=item)


def _verdict(
    name: str, item: dict[str, Any], status: str | None, code: int | None, text: str | None
) -> tuple[Kind, Reason] | None:
    if name == "spamreport":
        return ("complaint", "policy")
    if name == "deferred":
        return ("delayed", reason_for(status, text, code))
    if name == "dropped":
        return _DROPPED.get(_text(item.get("reason")) or "", ("soft", "other"))
    classification = _text(item.get("bounce_classification"))
    reason = _CLASSIFICATION.get(classification or "") or reason_for(status, text, code)
    if item.get("type") == "blocked":
        return ("soft", "policy" if reason == "other" else reason)  # blocks are about the sender
    return (kind_for(reason, status, code, permanent=True), reason)


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
