"""Postmark Bounce and SpamComplaint webhooks (../shared/bounces.md §2).

One JSON event per request, unsigned: the hook URL's secret (in the path, or as Basic
credentials in the URL, which Postmark supports) and optionally ``allow_ips`` protect it.
Postmark retries 5xx/408/429 and timeouts only, so hostile bodies get a 4xx.

The mapping keys on ``Type``, never ``TypeCode``: Postmark's own spam-complaint example sends
``"Type": "SpamComplaint", "TypeCode": 512`` while its enum says 512 is SpamNotification.
Types that are not failures (Subscribe, AutoResponder, OpenRelayTest …) are acknowledged and
not recorded; an unknown type is recorded as soft/other rather than refused.
"""

from __future__ import annotations

from service.errors import BadPayload
from service.mail.bounce import BouncedRecipient, Kind, Reason
from service.mail.bounce_rules import (
    kind_for,
    parse_reply_code,
    parse_status,
    provider_key,
    reason_for,
)
from service.moments import parse_iso_utc
from service.providers.base import BounceProvider, Delivery, load_json_object
from service.providers.json_reader import optional, require
from service.store.bounces import BounceEventCreate

# Type -> (kind, reason); reason None = read it from Details (the remote MTA's text).
_TYPES: dict[str, tuple[Kind, Reason | None]] = {
    "HardBounce": ("hard", None),
    "BadEmailAddress": ("hard", "user_unknown"),
    "Transient": ("delayed", None),
    "DnsError": ("soft", "domain_not_found"),
    "SoftBounce": ("soft", None),
    "SpamNotification": ("soft", "policy"),
    "VirusNotification": ("soft", "policy"),
    "Blocked": ("soft", "policy"),
    "DMARCPolicy": ("soft", "policy"),
    "Unknown": ("soft", "other"),
    "SMTPApiError": ("soft", "other"),
    "TemplateRenderingFailed": ("soft", "other"),
    "SpamComplaint": ("complaint", "policy"),
    # Deactivated by hand in Postmark: not deliverable from this server until reactivated.
    "ManuallyDeactivated": ("hard", "other"),
}
_IGNORED = frozenset(
    {
        "Unsubscribe",
        "Subscribe",
        "AutoResponder",
        "AddressChange",
        "OpenRelayTest",
        "ChallengeVerification",
        "Unconfirmed",
        "InboundError",
    }
)


class PostmarkBounces(BounceProvider):
    """Postmark outbound Bounce and SpamComplaint webhooks."""

    name = "postmark-bounces"

    def parse(self, delivery: Delivery) -> list[BounceEventCreate]:
        data = load_json_object(delivery.body)
        record_type = require(data, "RecordType", str)
        if record_type not in ("Bounce", "SpamComplaint"):
            raise BadPayload("field 'RecordType' must be Bounce or SpamComplaint", details={"field": "RecordType"})
        event_id = require(data, "ID", (int, str))
        if isinstance(event_id, bool):
            raise BadPayload("field 'ID' must be int", details={"field": "ID"})
        email = require(data, "Email", str)
        if not email.strip() or len(email) > 320:
            raise BadPayload("field 'Email' must be an address", details={"field": "Email"})
        bounce_type = optional(data, "Type", str) or record_type
        if bounce_type in _IGNORED:
            return []
        details = optional(data, "Details", str)
        status, code = parse_status(details), parse_reply_code(details)
        kind, fixed = _TYPES.get(bounce_type, ("soft", "other"))
        reason = fixed or _reason(bounce_type, status, details, code)
        if bounce_type == "HardBounce":
            # "unknown user, mailbox not found" by Postmark's own description; a Details text
            # that says otherwise (a 5.7.1 block) is not about the address.
            kind = kind_for(reason, status, code, permanent=True) if status else "hard"
        ref, when = provider_key(record_type, str(event_id)), parse_iso_utc(optional(data, "BouncedAt", str))
        bounced = BouncedRecipient(email, status, code, details or optional(data, "Description", str), kind, reason)
        # ``MessageID`` is Postmark's id for the sent message, not its RFC 5322 Message-ID, which
        # Postmark does not send (only inside the optional raw ``Content`` dump).
        return [self.event(delivery, ref, bounced, when, raw={k: v for k, v in data.items() if k != "Content"})]


def _reason(bounce_type: str, status: str | None, details: str | None, code: int | None) -> Reason:
    reason = reason_for(status, details, code)
    if reason == "other" and bounce_type == "HardBounce":
        return "user_unknown"  # Postmark: "unknown user, mailbox not found"
    if reason == "other" and bounce_type == "SoftBounce":
        return "mailbox_full"  # Postmark: "mailbox full, quota, disabled"
    return reason
