"""Forward Email bounce webhooks: failures of mail sent through Forward Email's outbound SMTP
(../shared/providers.md §3.7, bounces.md §5).

Always signed, with the same ``X-Webhook-Signature`` (hex HMAC-SHA256 of the exact body, domain
webhook key) as alias webhooks; Forward Email generates a key when the domain has none, so a
source of this provider must list ``signing_keys``. It fires on every failed attempt, deferrals
included, and answers only an exact 200 as success.

Every field is optional in practice (one code version omits ``headers``/``bounced_at``), except
the bounced ``recipient``. ``bounce`` is zone-mta's classification: ``action`` reject / defer /
slowdown, ``category`` (recipient, capacity, dns, block, blocklist, spam, virus, policy, message,
network …), ``code``/``status`` (``0``/``false`` when no SMTP reply was parsed).
There is no event id: ``email_id`` + recipient + ``bounced_at`` + ``response_code`` identify one.
"""

from __future__ import annotations

import hashlib
from typing import Any

from service.config import SourceConfig
from service.errors import BadPayload
from service.mail.bounce import BouncedRecipient, Kind, Reason
from service.mail.bounce_rules import event_key, kind_for, parse_status, reason_for
from service.moments import parse_iso_utc
from service.providers.base import BounceProvider, Delivery, load_json_object
from service.providers.forwardemail import verify_signature
from service.providers.json_reader import optional, require
from service.store.bounces import BounceEventCreate

_DEFERRED = frozenset({"defer", "slowdown"})
# zone-mta / Forward Email bounce categories with a fixed reason; others are read from the text.
# Block-type categories are often about Forward Email's own IPs or the content, so they are
# soft "policy" and only suppress after repeated failures.
_CATEGORY_REASONS: dict[str, Reason] = {
    "recipient": "user_unknown",
    "capacity": "mailbox_full",
    "dns": "domain_not_found",
    "block": "policy",
    "blocklist": "policy",
    "blacklist": "policy",  # the old name of blocklist
    "spam": "policy",
    "virus": "policy",
    "policy": "policy",
}


class ForwardEmailBounces(BounceProvider):
    """Forward Email outbound-SMTP bounce webhooks (``bounce_webhook`` on the domain)."""

    name = "forwardemail-bounces"
    success_status = 200  # exactly 200; anything else is a failed webhook to Forward Email

    @classmethod
    def check_source(cls, source: SourceConfig) -> None:
        if not source.signing_keys:
            raise ValueError(
                "forwardemail-bounces needs signing_keys (the domain's webhook key): its bounces are always signed"
            )

    def verify(self, delivery: Delivery) -> None:
        verify_signature(delivery)

    def parse(self, delivery: Delivery) -> list[BounceEventCreate]:
        data = load_json_object(delivery.body)
        recipient = require(data, "recipient", str)
        if not recipient.strip() or len(recipient) > 320:
            raise BadPayload("field 'recipient' must be an address", details={"field": "recipient"})
        bounce = optional(data, "bounce", dict) or {}
        response = _text(data.get("response")) or _text(data.get("message"))
        reply_code = _code(data.get("response_code")) or _code(bounce.get("code"))
        status = _text(bounce.get("status")) or parse_status(response)
        action, category = _text(bounce.get("action")), _text(bounce.get("category"))
        reason = _CATEGORY_REASONS.get(category or "") or reason_for(status, response, reply_code)
        kind: Kind
        if action in _DEFERRED or (action is None and reply_code is not None and 400 <= reply_code < 500):
            kind = "delayed"
        elif action == "reject" or (action is None and reply_code is not None and reply_code >= 500):
            kind = kind_for(reason, status, reply_code, permanent=True)
        else:
            kind = "soft"
        email_id, bounced_at = _text(data.get("email_id")), _text(data.get("bounced_at"))
        # Without email_id and bounced_at only the exact body identifies a redelivery.
        body_hash = None if email_id and bounced_at else hashlib.sha256(delivery.body).hexdigest()
        key = event_key(email_id, recipient.lower(), bounced_at, reply_code, body_hash)
        bounced = BouncedRecipient(
            recipient, status, reply_code, response or _text(bounce.get("message")), kind, reason
        )
        headers = data.get("headers")
        return [
            self.event(
                delivery,
                key,
                bounced,
                parse_iso_utc(bounced_at),
                original_message_id=_message_id(headers),
                forwarded_candidates=_candidates(headers),
                raw=data,
            )
        ]


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _code(value: Any) -> int | None:
    """``code``/``response_code`` are ints, ``0`` when no SMTP reply was parsed."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 200 <= value <= 599 else None


def _header(headers: Any, name: str) -> str | None:
    """``headers`` is an object of header name to value (names' case varies)."""
    if not isinstance(headers, dict):
        return None
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name and isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _message_id(headers: Any) -> str | None:
    return _header(headers, "message-id")


def _candidates(headers: Any) -> tuple[str, ...]:
    return tuple(filter(None, (_header(headers, "resent-message-id"), _header(headers, "message-id"))))
