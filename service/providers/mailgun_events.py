"""Mailgun ``failed`` and ``complained`` event webhooks (../shared/bounces.md §3).

JSON ``{"signature": {timestamp, token, signature[, parent-signature]}, "event-data": {…}}``,
signed like route forwards: hex HMAC-SHA256 of ``timestamp + token`` with the webhook signing
key (``signing_keys``; checked when configured). Only those two fields are signed, not the
event, so a captured signature must not carry a forged event: the timestamp must be within 15
minutes and each token is accepted once (``check_replay``), as for route forwards.

``failed`` + ``severity: permanent`` is a bounce; ``temporary`` means Mailgun will retry, so it
is recorded as delayed. ``reason`` refines it: ``suppress-*`` (not attempted, the address is on
Mailgun's list), ``espblock`` (a policy block), ``old`` (gave up retrying [U]). Mailgun answers
``406`` as "rejected, do not retry"; anything else non-200 is retried for ~8 hours.
"""

from __future__ import annotations

from typing import Any

from service.errors import BadPayload, Unauthorized
from service.ingest.nonces import NonceCache
from service.mail.bounce import BouncedRecipient, Kind, Reason
from service.mail.bounce_rules import event_key, kind_for, parse_status, provider_key, reason_for
from service.mail.inbound import from_timestamp, normalise_message_id
from service.providers.base import BounceProvider, Delivery, load_json_object
from service.providers.json_reader import optional, require
from service.providers.mailgun import WINDOW_S, verify_signature
from service.store.bounces import BounceEventCreate

# ``reason`` values with a fixed meaning; None = skip (an unsubscribe is not a failure).
_REASONS: dict[str, tuple[Kind, Reason] | None] = {
    "suppress-bounce": ("hard", "user_unknown"),
    "suppress-complaint": ("complaint", "policy"),
    "suppress-unsubscribe": None,
    "espblock": ("soft", "policy"),
}


class MailgunEvents(BounceProvider):
    """Mailgun event webhooks for ``failed`` (permanent/temporary) and ``complained``."""

    name = "mailgun-events"

    def __init__(self) -> None:
        super().__init__()
        self._parsed: tuple[Delivery, dict[str, Any]] | None = None

    def _data(self, delivery: Delivery) -> dict[str, Any]:
        if self._parsed is None or self._parsed[0] is not delivery:
            self._parsed = (delivery, load_json_object(delivery.body))
        return self._parsed[1]

    def verify(self, delivery: Delivery) -> None:
        if not delivery.source.signing_keys:
            return
        signature = self._data(delivery).get("signature")
        if not isinstance(signature, dict):
            raise Unauthorized("missing Mailgun 'signature' object")
        fields = [signature.get(key) for key in ("timestamp", "token", "signature")]
        parent = signature.get("parent-signature")
        if not all(isinstance(value, str) and value for value in fields):
            raise Unauthorized("missing Mailgun signature fields (timestamp, token, signature)")
        timestamp, token, signed = (str(value).encode("utf-8", "replace") for value in fields)
        presented = [signed, *([parent.encode("utf-8", "replace")] if isinstance(parent, str) else [])]
        verify_signature(delivery, timestamp, token, presented)

    def _token(self, delivery: Delivery) -> str:
        signature = self._data(delivery).get("signature")
        token = signature.get("token") if isinstance(signature, dict) else None
        return token if isinstance(token, str) else ""

    async def check_replay(self, delivery: Delivery, nonces: NonceCache) -> None:
        if delivery.source.signing_keys and not await nonces.first_use(self.name, self._token(delivery), 2 * WINDOW_S):
            raise Unauthorized("Mailgun token was already used: the delivery is a replay")

    async def release_replay(self, delivery: Delivery, nonces: NonceCache) -> None:
        if delivery.source.signing_keys:
            await nonces.forget(self.name, self._token(delivery))

    def parse(self, delivery: Delivery) -> list[BounceEventCreate]:
        event = require(self._data(delivery), "event-data", dict)
        name = require(event, "event", str, "event-data")
        if name not in ("failed", "complained"):
            return []  # delivered, opened, clicked … are not failures
        recipient = require(event, "recipient", str, "event-data")
        if not recipient.strip() or len(recipient) > 320:
            raise BadPayload(
                "field 'event-data.recipient' must be an address", details={"field": "event-data.recipient"}
            )
        verdict = _verdict(event, name)
        if verdict is None:
            return []
        kind, reason, status, code, diagnostic = verdict
        event_id = optional(event, "id", str)
        when = event.get("timestamp")
        timestamp = from_timestamp(when) if isinstance(when, int | float) and not isinstance(when, bool) else None
        message = event.get("message")
        headers = message.get("headers") if isinstance(message, dict) else None
        message_id = headers.get("message-id") if isinstance(headers, dict) else None
        original = normalise_message_id(message_id) if isinstance(message_id, str) else None
        # Event ids are "unique within a day" (anymail): with the recipient that is enough.
        key = provider_key(event_id, recipient.lower()) if event_id else event_key(name, recipient.lower(), when)
        bounced = BouncedRecipient(recipient, status, code, diagnostic, kind, reason)
        mta = _text(_status_object(event).get("mx-host"))
        return [
            self.event(delivery, key, bounced, timestamp, reporting_mta=mta, original_message_id=original, raw=event)
        ]


def _status_object(event: dict[str, Any]) -> dict[str, Any]:
    status = event.get("delivery-status")  # may be null (anymail test)
    return status if isinstance(status, dict) else {}


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _verdict(event: dict[str, Any], name: str) -> tuple[Kind, Reason, str | None, int | None, str | None] | None:
    """(kind, reason, status, reply code, diagnostic), or None for events not recorded."""
    if name == "complained":
        return ("complaint", "policy", None, None, None)
    delivery_status = _status_object(event)
    raw_code = delivery_status.get("code")
    code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
    diagnostic = _text(delivery_status.get("message")) or _text(delivery_status.get("description"))
    # enhanced-code is seen in captures but not documented [T]; else read it from the text.
    status = _text(delivery_status.get("enhanced-code")) or parse_status(diagnostic)
    reason_name = event.get("reason")
    if isinstance(reason_name, str) and reason_name in _REASONS:
        fixed = _REASONS[reason_name]
        return None if fixed is None else (*fixed, status, code, diagnostic)
    reason: Reason = "expired" if reason_name == "old" else reason_for(status, diagnostic, code)
    # Mailgun's own codes (498 "No MX", 605 …) are outside SMTP's range: judge by severity only.
    smtp_code = code if code is not None and 200 <= code <= 599 else None
    if event.get("severity") == "temporary":
        return ("delayed", reason, status, smtp_code, diagnostic)
    if code == 498 and reason == "other":
        reason = "domain_not_found"
    kind = "soft" if reason == "expired" else kind_for(reason, status, smtp_code, permanent=True)
    return (kind, reason, status, smtp_code, diagnostic)
