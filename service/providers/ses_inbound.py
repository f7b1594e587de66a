"""Amazon SES inbound mail: a receipt rule's SNS action, delivered by an SNS HTTPS subscription
(../shared/providers.md §6.4).

The SNS envelope is verified exactly like SES bounces (``SnsProvider``). Its ``Message`` is a
``Received`` notification whose ``content`` is the whole raw message, UTF-8 or BASE64 as the
rule's action ``encoding`` says (that field's name is not re-checked [U]: without it, or with any
value but BASE64 in any case, the content is taken as UTF-8). The SNS
action only carries mail up to 150 KB; an S3 action's notification has no ``content`` and is
refused, since Mailhook cannot read the bucket.

``mail.messageId`` (SES's id for the received mail) is stable across SNS retries and is the
idempotency key; ``receipt.recipients`` is the envelope RCPT TO list.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from service.errors import BadPayload
from service.mail.inbound import InboundEmail
from service.mime.headers import header_fields, mime_headers_and_defects
from service.moments import parse_iso_utc
from service.providers.base import Delivery, Handshake, InboundProvider, ProviderServices
from service.providers.json_reader import optional
from service.providers.sns import SnsProvider, decode_message

_VERDICTS = {"spf": "spfVerdict", "dkim": "dkimVerdict", "dmarc": "dmarcVerdict", "spam": "spamVerdict"}


class SesInbound(SnsProvider, InboundProvider):
    """Amazon SES receipt-rule SNS action (``Received`` notifications with the raw content)."""

    name = "ses-inbound"

    async def verify_remote(self, delivery: Delivery, services: ProviderServices) -> Handshake | None:
        handshake = await super().verify_remote(delivery, services)
        if handshake is not None:
            return handshake
        # SES's setup ping ({"notificationType": "AmazonSnsSubscriptionSucceeded"}) and any other
        # notification on the topic: acknowledged, nothing to store.
        message = decode_message(self.sns(delivery))
        if message is None or message.get("notificationType") != "Received":
            return Handshake({"status": "ignored", "reason": "not a Received notification"})
        return None

    def parse(self, delivery: Delivery) -> list[InboundEmail]:
        envelope = self.sns(delivery)
        message = decode_message(envelope, self.defects)
        if envelope.type != "Notification" or message is None or message.get("notificationType") != "Received":
            return []
        mail, receipt = _object(message, "mail"), _object(message, "receipt")
        raw = self._content(message, receipt)
        headers, defects = mime_headers_and_defects(raw)
        # Problems in the fields read from the headers (an unparseable Date or From, an
        # over-long Message-ID) are defects too, as for raw HTTP and SMTP.
        fields = header_fields(headers, defects)
        ses_id = mail.get("messageId") if isinstance(mail.get("messageId"), str) else None
        recipients = _strings(receipt.get("recipients")) or _strings(mail.get("destination"))
        if not recipients:
            raise BadPayload("SES notification without receipt.recipients", details={"field": "receipt.recipients"})
        source = mail.get("source")
        timestamp = optional(receipt, "timestamp", str, "receipt")
        event_id = (ses_id or envelope.message_id)[:255]
        return [
            self.email(
                delivery,
                self.delivery_key(event_id=ses_id or envelope.message_id),
                provider_event_id=event_id,
                raw_payload=_without_content(envelope.fields, message),
                received_at=parse_iso_utc(timestamp) or envelope.timestamp or delivery.received_at,
                envelope_from=source if isinstance(source, str) and source else None,
                envelope_to=recipients,
                headers=headers,
                raw_mime=raw,
                auth=_auth(receipt),
                # SES's spam filter verdict: PASS, FAIL, GRAY or PROCESSING_FAILED.
                spam=_auth(receipt, {"status": "spamVerdict"}),
                defects=defects,
                **fields,
            )
        ]

    def _content(self, message: dict[str, Any], receipt: dict[str, Any]) -> bytes:
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            raise BadPayload(
                "SES notification carries no 'content': use the receipt rule's SNS action (not S3) for this source",
                details={"field": "content"},
            )
        action = receipt.get("action")
        encoding = action.get("encoding") if isinstance(action, dict) else None
        if isinstance(encoding, str) and encoding.upper() == "BASE64":
            try:
                return base64.b64decode(content, validate=True)
            except (binascii.Error, ValueError):
                raise BadPayload("content is not valid BASE64 although the action says so") from None
        return self.utf8(content, "content")


def _object(message: dict[str, Any], key: str) -> dict[str, Any]:
    value = message.get(key)
    if not isinstance(value, dict):
        raise BadPayload(f"SES Received notification without '{key}'", details={"field": key})
    return value


def _strings(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str) and item] if isinstance(value, list) else []


def _auth(receipt: dict[str, Any], names: dict[str, str] = _VERDICTS) -> dict[str, str]:
    verdicts = {}
    for name, key in names.items():
        verdict = receipt.get(key)
        status = verdict.get("status") if isinstance(verdict, dict) else None
        if isinstance(status, str) and status:
            verdicts[name] = status.lower()[:32]
    return verdicts


def _without_content(envelope: dict[str, str], message: dict[str, Any]) -> bytes:
    """The delivery as received, minus the raw message (kept once, as ``raw_mime``)."""
    kept: dict[str, Any] = {key: value for key, value in envelope.items() if key != "Message"}
    kept["Message"] = {key: value for key, value in message.items() if key != "content"}
    # A lone surrogate goes back as the escape it came as.
    return json.dumps(kept, ensure_ascii=False).encode("utf-8", "backslashreplace")
