"""``raw``: a whole RFC 5322 message as the request body (curl, a Postfix ``pipe`` transport, scripts).

The body *is* the message. It is kept byte for byte as ``raw_mime`` (the very same ``bytes``
object: bodies reach the size limit, tens of MB, and must not be held twice) and only its header
block is parsed here; the worker's ``parse`` step reads text and HTML from the stored MIME later.

The SMTP envelope is not part of a message, so the sender passes it along: ``?from=…&to=…`` in
the URL (``to`` repeated or comma-separated), or ``X-Envelope-From``/``X-Envelope-To`` request
headers. Failing those, the ``X-Original-To``/``Delivered-To``/``Return-Path`` headers a
delivering MTA adds to the message stand in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import ClassVar

from service.errors import BadPayload, UnsupportedMediaType
from service.mail.inbound import InboundEmail
from service.mime.headers import first_header, header_fields, mime_headers_and_defects
from service.providers.base import Delivery, InboundProvider


class RawMime(InboundProvider):
    """Raw MIME posted as the request body."""

    name = "raw"
    # What curl/pipe setups send a message as. No Content-Type at all is accepted too (RFC 9110
    # §8.3 lets a recipient assume application/octet-stream); JSON or a form is a sender pointed
    # at the wrong source, and is refused rather than stored as a broken message.
    content_types: ClassVar[frozenset[str]] = frozenset(
        {"message/rfc822", "application/octet-stream", "text/plain", ""}
    )

    def parse(self, delivery: Delivery) -> list[InboundEmail]:
        if delivery.content_type not in self.content_types:
            raise UnsupportedMediaType(
                f"the raw provider takes message/rfc822, application/octet-stream or text/plain, "
                f"got {delivery.content_type}"
            )
        if not delivery.body.strip():
            raise BadPayload("the body is empty: a raw delivery is a whole RFC 5322 message")
        # A message whose headers cannot be read is still stored (with its defects): the bytes
        # are kept and the worker makes what it can of them.
        headers, defects = mime_headers_and_defects(delivery.body)
        envelope_to = _envelope_to(delivery, headers)
        envelope_from = _envelope_from(delivery, headers)
        fields = header_fields(headers, defects)
        envelope = {"envelope_from": envelope_from, "envelope_to": envelope_to}
        return [
            # Without a Message-ID the exact bytes identify a redelivery (hashed in place, no copy).
            self.email_with_message_id(
                delivery,
                delivery.body,
                fields,
                envelope_to=envelope_to,
                extra=[first_header(headers, "date")],
                # The request body is the message, kept in the blob store as ``raw_mime``; the
                # raw payload row only records the envelope that came with it.
                raw_payload=json.dumps(envelope, ensure_ascii=False).encode("utf-8", "backslashreplace"),
                raw_content_type="application/json",
                envelope_from=envelope_from,
                headers=headers,
                defects=defects,
            )
        ]


def _multi_values(mapping: Mapping[str, str], name: str) -> list[str]:
    """All values of ``name`` (query parameters and headers can repeat), comma lists split."""
    getlist = getattr(mapping, "getlist", None)  # Starlette's QueryParams/Headers
    raw = list(getlist(name)) if callable(getlist) else [mapping[name]] if name in mapping else []
    return [item.strip() for value in raw for item in str(value).split(",") if item.strip()]


def _bare(address: str) -> str:
    return address.strip().strip("<>").strip()


def _envelope_to(delivery: Delivery, headers: list[tuple[str, str]]) -> list[str]:
    given = _multi_values(delivery.query, "to") or _multi_values(delivery.headers, "x-envelope-to")
    if not given:
        # Postfix adds X-Original-To (pipe flag O) and Delivered-To (flag D); the first one is the
        # most recent hop, i.e. ours.
        added = first_header(headers, "x-original-to") or first_header(headers, "delivered-to")
        given = [added] if added else []
    return [address for address in map(_bare, given) if address]


def _envelope_from(delivery: Delivery, headers: list[tuple[str, str]]) -> str | None:
    given = _multi_values(delivery.query, "from") or _multi_values(delivery.headers, "x-envelope-from")
    # Return-Path is what the final MTA recorded as MAIL FROM; "<>" (a bounce) means no sender.
    sender = given[0] if given else first_header(headers, "return-path")
    return _bare(sender or "") or None
