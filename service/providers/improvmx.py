"""ImprovMX alias-forward webhooks (../shared/providers.md §2).

No signature and no delivery id: authenticity rests on the secret URL plus ImprovMX's published
sending IP (configure ``allow_ips``), and redeliveries are recognised by Message-ID + alias +
timestamp.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from service.errors import BadPayload
from service.mail.inbound import (
    Address,
    InboundAttachment,
    InboundEmail,
    from_timestamp,
    normalise_message_id,
    parse_addresses,
    parse_date,
)
from service.providers.base import Delivery, InboundProvider
from service.providers.json_reader import objects, optional, require


class ImprovMX(InboundProvider):
    """ImprovMX webhook forwards (alias destination is a URL)."""

    name = "improvmx"

    def parse(self, delivery: Delivery) -> list[InboundEmail]:
        data = self.json_body(delivery)
        headers = _headers(require(data, "headers", dict))
        first = _first_values(headers)
        sender = require(data, "from", dict)
        delivered_to = first.get("delivered-to")
        to = [_address(item, f"to[{i}]") for i, item in enumerate(optional(data, "to", list) or [])]
        envelope_to = [delivered_to] if delivered_to else [a.address for a in to]
        message_id = normalise_message_id(optional(data, "message-id", str))
        timestamp = self._timestamp(data)
        return_path = optional(data, "return-path", dict) or {}
        key = self.delivery_key(
            message_id=message_id, recipients=envelope_to, extra=[str(timestamp)], content=delivery.body
        )
        # Bodies and attachments are dropped from the kept payload only by size, never by content.
        return [
            self.email(
                delivery,
                key,
                received_at=from_timestamp(timestamp) or delivery.received_at,
                envelope_from=return_path.get("email") if isinstance(return_path.get("email"), str) else None,
                envelope_to=envelope_to,
                header_from=_address(sender, "from"),
                to=to,
                cc=parse_addresses(first.get("cc")),
                reply_to=parse_addresses(first.get("reply-to")),
                subject=optional(data, "subject", str),
                message_id=message_id,
                date=parse_date(optional(data, "date", str)),
                text=optional(data, "text", str),
                html=optional(data, "html", str),
                headers=headers,
                attachments=_attachments(data, "attachments", "attachment") + _attachments(data, "inlines", "inline"),
            )
        ]

    def _timestamp(self, data: dict[str, Any]) -> float | None:
        """``timestamp`` (Unix seconds) is only our arrival time's better source: one that is not
        a number (an integer too long to read arrives as its digits) is noted and ignored."""
        value = data.get("timestamp")
        if value is None or isinstance(value, int | float) and not isinstance(value, bool):
            return value
        self.defects.append("timestamp: not a number; used the arrival time")
        return None


def _headers(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """Header values are a string or a list of strings (docs changed over time): flatten both."""
    pairs: list[tuple[str, str]] = []
    for name, value in raw.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if not isinstance(item, str):
                raise BadPayload(f"header '{name}' must be a string or a list of strings")
            pairs.append((name, item))
    return pairs


def _first_values(headers: list[tuple[str, str]]) -> dict[str, str]:
    """The first value of each header by lower-cased name: one pass instead of one per lookup."""
    first: dict[str, str] = {}
    for key, value in headers:
        first.setdefault(key.lower(), value)
    return first


def _address(item: Any, where: str) -> Address:
    if not isinstance(item, dict):
        raise BadPayload(f"field '{where}' must be an object with 'email'", details={"field": where})
    email = require(item, "email", str, where)
    name = item.get("name")
    return Address(name if isinstance(name, str) and name else None, email)


def _attachments(data: dict[str, Any], key: str, disposition: str) -> list[InboundAttachment]:
    found: list[InboundAttachment] = []
    for where, item in objects(data, key):
        content = require(item, "content", str, where)
        try:
            # ``encoding`` says "binary" in some samples although content is base64: ignore it.
            payload = base64.b64decode(content, validate=False)
        except (binascii.Error, ValueError):
            raise BadPayload(f"field '{where}.content' is not base64", details={"field": where}) from None
        found.append(
            InboundAttachment(
                filename=name if isinstance(name := item.get("name"), str) else None,
                content_type=kind if isinstance(kind := item.get("type"), str) else "application/octet-stream",
                data=payload,
                content_id=cid if isinstance(cid := item.get("cid"), str) else None,
                disposition=disposition,
            )
        )
    return found
