"""Amazon SES bounce, complaint and delivery-delay notifications through SNS (bounces.md §1.6).

The SNS envelope is verified by ``SnsProvider``; its ``Message`` is a JSON string in one of two
formats: identity notifications (``notificationType``) or configuration-set event publishing
(``eventType``, which alone has ``DeliveryDelay``). Both carry the same ``bounce`` and
``complaint`` objects, so ``t = eventType or notificationType`` and the detail object is
``msg[t[0].lower() + t[1:]]``. Other types (Delivery, Send, Open, Click, Received …) and SES's
plain-text setup pings are acknowledged and not recorded. One notification may list several
recipients: one event each, all stored before the 200.

SES publishes only hard bounces and soft bounces it stopped retrying, so ``Transient`` is a
final soft failure here, and per-attempt deferrals exist only as ``DeliveryDelay``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.errors import BadPayload
from service.mail.bounce import Kind, Reason
from service.mail.bounce_rules import (
    clip,
    event_key,
    kind_for,
    normalise_recipient,
    parse_reply_code,
    provider_key,
    reason_for,
)
from service.moments import parse_iso_utc
from service.providers.base import BounceProvider, Delivery
from service.providers.sns import SnsMessage, SnsProvider, decode_message
from service.store.bounces import BounceEventCreate

# (bounceType, bounceSubType) -> (kind, reason) where SES says more than the DSN status does.
# ``None`` = decide from the recipient's status and diagnostic (permanence from bounceType).
_BOUNCE_TYPES: dict[tuple[str, str], tuple[Kind, Reason] | None] = {
    ("Undetermined", "Undetermined"): ("soft", "other"),
    ("Permanent", "General"): None,
    ("Permanent", "NoEmail"): ("hard", "user_unknown"),
    # Not attempted: the address is on SES's global or the account's suppression list, i.e. it
    # bounced or complained before. As dead for this sender as a hard bounce.
    ("Permanent", "Suppressed"): ("hard", "other"),
    ("Permanent", "OnAccountSuppressionList"): ("hard", "other"),
    ("Transient", "General"): None,
    ("Transient", "MailboxFull"): ("soft", "mailbox_full"),
    ("Transient", "MessageTooLarge"): ("soft", "too_large"),
    ("Transient", "ContentRejected"): ("soft", "policy"),
    ("Transient", "AttachmentRejected"): ("soft", "policy"),
}
_DELAY_REASONS: dict[str, Reason] = {"MailboxFull": "mailbox_full", "SpamDetected": "policy", "IPFailure": "policy"}


class SesBounces(SnsProvider, BounceProvider):
    """Amazon SES bounce/complaint/delay notifications delivered by an SNS HTTPS subscription."""

    name = "ses"

    def parse(self, delivery: Delivery) -> list[BounceEventCreate]:
        envelope = self.sns(delivery)
        if envelope.type != "Notification":
            return []
        message = decode_message(envelope)
        if message is None:
            return []
        kind = message.get("eventType") or message.get("notificationType")
        if not isinstance(kind, str) or kind not in _PARSERS:
            return []  # Delivery, Send, Open, Received …: not a bounce
        key = kind[0].lower() + kind[1:]
        detail = message.get(key)
        if not isinstance(detail, dict):
            raise BadPayload(f"SES {kind} notification without its '{key}' object", details={"field": key})
        mail = message.get("mail")
        context = _Context(delivery, envelope, message, mail if isinstance(mail, dict) else {})
        return _PARSERS[kind](context, detail)


class _Context:
    """What every recipient's event shares: source, ids, the original's Message-ID, raw JSON."""

    def __init__(self, delivery: Delivery, envelope: SnsMessage, message: dict[str, Any], mail: dict[str, Any]) -> None:
        self.source, self.received = delivery.source.name, delivery.received_at
        self.envelope, self.message, self.mail = envelope, message, mail
        self.message_id, self.resent_ids = _original_ids(mail)

    def event(self, address: str, key: str, kind: Kind, reason: Reason, when: Any, **fields: Any) -> BounceEventCreate:
        return BounceEventCreate(
            source=self.source,
            provider="ses",
            provider_event_id=key,
            recipient=address,
            kind=kind,
            reason=reason,
            occurred_at=parse_iso_utc(when if isinstance(when, str) else None)
            or self.envelope.timestamp
            or self.received,
            original_message_id=self.message_id,
            forwarded_candidates=tuple(filter(None, (*self.resent_ids, self.message_id))),
            raw=self.message,
            **fields,
        )

    def failure(
        self, item: _Recipient, key: str, verdict: tuple[Kind, Reason], detail: dict[str, Any]
    ) -> BounceEventCreate:
        """A bounce or delay: the recipient's status and diagnostic, and the reporting MTA."""
        diagnostic = item.diagnostic
        return self.event(
            item.address,
            key,
            *verdict,
            detail.get("timestamp"),
            status=item.status,
            reply_code=parse_reply_code(diagnostic),
            diagnostic=clip(diagnostic),
            reporting_mta=_mta(detail.get("reportingMTA")),
        )


def _bounces(ctx: _Context, bounce: dict[str, Any]) -> list[BounceEventCreate]:
    bounce_type, subtype = str(bounce.get("bounceType")), str(bounce.get("bounceSubType"))
    fixed = _BOUNCE_TYPES.get((bounce_type, subtype))
    events = []
    for item in _recipients(bounce, "bouncedRecipients"):
        address, status, diagnostic = item.address, item.status, item.diagnostic
        code = parse_reply_code(diagnostic)
        if fixed is not None:
            kind, reason = fixed
        else:
            reason = reason_for(status, diagnostic, code)
            # Newer Permanent subtypes seen only in third-party enums land here too (bounces.md §1.6).
            permanent = bounce_type == "Permanent" if bounce_type in ("Permanent", "Transient") else None
            kind = kind_for(reason, status, code, permanent=permanent)
        key = _key(bounce.get("feedbackId"), address) or event_key("ses", ctx.envelope.message_id, address)
        events.append(ctx.failure(item, key, (kind, reason), bounce))
    return events


def _complaints(ctx: _Context, complaint: dict[str, Any]) -> list[BounceEventCreate]:
    # "not-spam" is an ISP telling us the mail was fine (ARF feedback type), not a complaint.
    if complaint.get("complaintFeedbackType") == "not-spam":
        return []
    feedback = complaint.get("complaintFeedbackType")
    events = []
    for item in _recipients(complaint, "complainedRecipients"):
        key = _key(complaint.get("feedbackId"), item.address) or event_key("ses", ctx.envelope.message_id, item.address)
        diagnostic = f"feedback type: {feedback}" if isinstance(feedback, str) else None
        events.append(
            ctx.event(item.address, key, "complaint", "policy", complaint.get("timestamp"), diagnostic=diagnostic)
        )
    return events


def _delays(ctx: _Context, delay: dict[str, Any]) -> list[BounceEventCreate]:
    delay_type = delay.get("delayType")
    events = []
    for item in _recipients(delay, "delayedRecipients"):
        status, diagnostic = item.status, item.diagnostic
        code = parse_reply_code(diagnostic)
        reason = _DELAY_REASONS.get(delay_type) if isinstance(delay_type, str) else None
        # No feedbackId on delays: SES's message id, the recipient and the delay's time (§1.6).
        key = event_key("ses-delay", ctx.mail.get("messageId"), item.address, delay.get("timestamp"))
        events.append(ctx.failure(item, key, ("delayed", reason or reason_for(status, diagnostic, code)), delay))
    return events


_PARSERS = {"Bounce": _bounces, "Complaint": _complaints, "DeliveryDelay": _delays}


@dataclass(frozen=True, slots=True)
class _Recipient:
    address: str
    status: str | None
    diagnostic: str | None


def _recipients(detail: dict[str, Any], key: str) -> list[_Recipient]:
    items = detail.get(key)
    if not isinstance(items, list) or not items:
        raise BadPayload(f"SES notification without '{key}'", details={"field": key})
    found = []
    for item in items:
        address = item.get("emailAddress") if isinstance(item, dict) else None
        if not isinstance(address, str) or not address.strip() or len(address) > 320:
            raise BadPayload(f"'{key}' entries need an emailAddress", details={"field": key})
        status, diagnostic = item.get("status"), item.get("diagnosticCode")
        found.append(
            _Recipient(
                normalise_recipient(address),
                status if isinstance(status, str) and status else None,
                diagnostic if isinstance(diagnostic, str) else None,
            )
        )
    return found


def _key(feedback_id: Any, address: str | None) -> str | None:
    return provider_key(feedback_id, (address or "").lower()) if isinstance(feedback_id, str) and feedback_id else None


def _mta(value: Any) -> str | None:
    """``"dns; mx.example.org"`` -> ``mx.example.org`` (the DSN's Reporting-MTA type prefix)."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.partition(";")[2].strip() or value.strip()


def _original_ids(mail: dict[str, Any]) -> tuple[str | None, list[str]]:
    """The original's RFC Message-ID (``commonHeaders``) and any ``Resent-Message-ID`` headers
    (ours, when the mail was a Mailhook forward through SES); present only when the identity
    includes original headers, which is optional."""
    common = mail.get("commonHeaders")
    message_id = common.get("messageId") if isinstance(common, dict) else None
    resent = []
    headers = mail.get("headers")
    for header in headers if isinstance(headers, list) else []:
        if not isinstance(header, dict) or not isinstance(header.get("value"), str):
            continue
        name = str(header.get("name", "")).lower()
        if name == "resent-message-id":
            resent.append(header["value"].strip())
        elif name == "message-id" and not message_id:
            message_id = header["value"].strip()
    return (message_id if isinstance(message_id, str) and message_id else None), resent
