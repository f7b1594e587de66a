"""ProxiedMail ``callback_url`` deliveries (../shared/providers.md §1).

ProxiedMail wraps a Mailgun-style parsed message (``payload``) in its own envelope. It neither
signs nor documents its request headers, so the source secret in the URL is the only proof of
origin, and the JSON is parsed whatever the Content-Type says.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from service.errors import BadPayload
from service.mail.inbound import InboundEmail, from_timestamp, normalise_message_id, parse_addresses, parse_date
from service.providers.base import Delivery, InboundProvider
from service.providers.json_reader import header_pairs, optional, require
from service.providers.mailgun import mailgun_spam

# ``receivedAt`` is JavaScript Date.toString() text: "Mon Aug 28 2023 10:35:36 GMT+0000".
_RECEIVED_AT_FORMAT = "%a %b %d %Y %H:%M:%S GMT%z"


class ProxiedMail(InboundProvider):
    """ProxiedMail proxy-binding callbacks."""

    name = "proxiedmail"

    def parse(self, delivery: Delivery) -> list[InboundEmail]:
        data = self.json_body(delivery)
        payload = require(data, "payload", dict)
        recipient = optional(data, "recipient", dict) or {}
        event_id = self.event_id(data, "id")
        envelope_to = recipient.get("address") or _text(payload, "recipient")
        headers = self._headers(payload)
        message_id = normalise_message_id(_text(payload, "Message-Id") or _header(headers, "message-id"))
        return [
            self.email_with_event_id(
                delivery,
                event_id,
                raw_payload=_without_secrets(data),
                received_at=_received_at(data, payload, delivery.received_at),
                envelope_from=_text(payload, "sender"),
                envelope_to=[envelope_to] if isinstance(envelope_to, str) and envelope_to else [],
                header_from=next(iter(parse_addresses(_text(payload, "From") or _text(payload, "from"))), None),
                to=parse_addresses(_text(payload, "To") or _header(headers, "to")),
                cc=parse_addresses(_text(payload, "Cc") or _header(headers, "cc")),
                reply_to=parse_addresses(_text(payload, "Reply-To") or _header(headers, "reply-to")),
                subject=_text(payload, "Subject") or _text(payload, "subject"),
                message_id=message_id,
                date=parse_date(_text(payload, "Date") or _header(headers, "date")),
                text=_text(payload, "body-plain"),
                html=_text(payload, "body-html"),
                headers=headers,
                # The Mailgun-style fields ProxiedMail passes on (providers.md §1.3).
                stripped_text=_text(payload, "stripped-text"),
                spam=mailgun_spam(headers),
            )
        ]

    def _headers(self, payload: dict[str, Any]) -> list[tuple[str, str]]:
        """``message-headers`` is a JSON *string* of ``[[name, value], ...]``: the only complete
        list. Decoded a second time, so with the body's rules (``json_field``)."""
        encoded = payload.get("message-headers")
        if encoded is None:
            return []
        pairs = self.json_field(encoded, "payload.message-headers") if isinstance(encoded, str) else encoded
        return header_pairs(pairs, "payload.message-headers")


def _text(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) else None


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


def _received_at(data: dict[str, Any], payload: dict[str, Any], default: datetime) -> datetime:
    text = data.get("receivedAt")
    if isinstance(text, str):
        try:
            return datetime.strptime(text.split(" (", 1)[0], _RECEIVED_AT_FORMAT).astimezone(UTC)
        except ValueError:
            pass
    stamp = payload.get("timestamp")
    if isinstance(stamp, str) and stamp.isascii() and stamp.isdigit() and len(stamp) <= 20:
        return from_timestamp(int(stamp)) or default
    return default


def _without_secrets(data: dict[str, Any]) -> bytes:
    """``user.token`` is a bearer JWT for the customer's ProxiedMail account: never keep it.

    A lone surrogate (``"\\ud800"`` in the body) is written back as that same escape
    (``backslashreplace``), so the kept payload decodes to what was received."""
    cleaned = dict(data)
    user = cleaned.get("user")
    if isinstance(user, dict) and "token" in user:
        cleaned["user"] = {k: v for k, v in user.items() if k != "token"}
    try:
        text = json.dumps(cleaned, ensure_ascii=False, separators=(",", ":"))
    except RecursionError:  # decoded within the limit, but this stack is deeper than the decoder's
        raise BadPayload("body is JSON nested too deeply") from None
    return text.encode("utf-8", "backslashreplace")
