"""Forward Email alias webhooks (../shared/providers.md §3).

The body is ``JSON.stringify({...simpleParser(raw), dkim, spf, arc, dmarc, bimi, headers,
recipients, session})``: a mailparser ``ParsedMail`` plus Forward Email's envelope and
authentication results. ``raw`` (the full message, unless the hook URL says ``?raw=false``) is the
source of truth for headers; without it the mailparser fields are used. Attachments arrive as
Node ``Buffer`` JSON (``{"type": "Buffer", "data": [byte, ...]}``) unless ``?attachments=false``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from service.errors import BadPayload, Unauthorized
from service.mail.inbound import (
    Address,
    InboundAttachment,
    InboundEmail,
    normalise_message_id,
    parse_date,
)
from service.mime.headers import HeaderFields, header_fields, mime_headers, unfold
from service.moments import parse_iso
from service.providers.base import Delivery, InboundProvider
from service.providers.forms import media_type
from service.providers.json_reader import objects, optional, require


class ForwardEmail(InboundProvider):
    """Forward Email webhooks (an alias whose recipient is a URL)."""

    name = "forwardemail"
    # Forward Email counts only exactly 200 as delivered; 201/202/204 are failures (§3.5).
    success_status = 200

    def verify(self, delivery: Delivery) -> None:
        """Sent only when the domain has a webhook key, so only required when we have one."""
        if delivery.source.signing_keys:
            verify_signature(delivery)

    def parse(self, delivery: Delivery) -> list[InboundEmail]:
        data = self.json_body(delivery)
        session = require(data, "session", dict)
        recipient = optional(session, "recipient", str, "session")
        recipients = _strings(data, "recipients") or ([recipient] if recipient else [])
        if not recipients:
            raise BadPayload("no envelope recipient: 'recipients' and 'session.recipient' are missing")
        raw = optional(data, "raw", str)
        # ``raw`` is Node's Buffer.toString() (UTF-8): encode it back to the message bytes.
        raw_mime = self.utf8(raw, "raw") if raw is not None else None
        headers, fields, defects = _headers_and_fields(data, raw_mime)
        message_id = normalise_message_id(optional(data, "messageId", str)) or fields["message_id"]
        date = optional(data, "date", str)
        primary = recipient or recipients[0]
        key = self.delivery_key(
            message_id=message_id, recipients=[primary], extra=[date], content=raw_mime or delivery.body
        )
        fields["message_id"] = message_id
        return [
            self.email(
                delivery,
                key,
                received_at=_arrival(session) or delivery.received_at,
                envelope_from=optional(session, "sender", str, "session") or None,
                envelope_to=recipients,
                headers=headers,
                text=optional(data, "text", str),
                html=_html(data),
                attachments=_attachments(data),
                raw_mime=raw_mime,
                auth=_auth(data),
                defects=defects,
                # mailparser's ``bcc``: known when the message itself carried a Bcc header.
                bcc=_addresses(data, "bcc"),
                **fields,
            )
        ]


def verify_signature(delivery: Delivery) -> None:
    """``X-Webhook-Signature`` is hex HMAC-SHA256 of the exact body, keyed with the domain's
    webhook key (§3.4); the same scheme signs alias webhooks and bounce webhooks."""
    presented = delivery.headers.get("x-webhook-signature")
    if not presented:
        raise Unauthorized("missing X-Webhook-Signature header")
    candidate = presented.strip().lower().encode("utf-8", "replace")
    matched = False
    for key in delivery.source.signing_keys:  # every key, no short-circuit: rotation without a timing signal
        expected = hmac.new(key.get_secret_value().encode(), delivery.body, hashlib.sha256).hexdigest()
        matched |= hmac.compare_digest(expected.encode(), candidate)
    if not matched:
        raise Unauthorized("X-Webhook-Signature does not match the body for any signing key")


def _headers_and_fields(
    data: dict[str, Any], raw_mime: bytes | None
) -> tuple[list[tuple[str, str]], HeaderFields, list[str]]:
    if raw_mime is not None:
        try:
            headers = mime_headers(raw_mime)
            return headers, header_fields(headers), []
        except BadPayload as exc:
            defects = [f"raw: {exc.message}; used the parsed fields instead"]
    else:
        defects = []
    fields = HeaderFields(
        header_from=next(iter(_addresses(data, "from")), None),
        to=_addresses(data, "to"),
        cc=_addresses(data, "cc"),
        reply_to=_addresses(data, "replyTo"),
        subject=optional(data, "subject", str),
        message_id=None,
        date=_iso_date(optional(data, "date", str)),
    )
    return _header_lines(data), fields, defects


def _strings(data: dict[str, Any], key: str) -> list[str]:
    values = optional(data, key, list) or []
    if not all(isinstance(value, str) for value in values):
        raise BadPayload(f"field '{key}' must be a list of strings", details={"field": key})
    return [value for value in values if value]


def _header_lines(data: dict[str, Any]) -> list[tuple[str, str]]:
    """``headerLines`` is mailparser's ordered, complete header list: ``[{key, line}]`` with the
    folded ``Name: value`` line. (``headers`` is overwritten by Forward Email; its shape varies.)"""
    headers: list[tuple[str, str]] = []
    for index, item in enumerate(optional(data, "headerLines", list) or []):
        line = item.get("line") if isinstance(item, dict) else None
        if not isinstance(line, str):
            raise BadPayload(f"field 'headerLines[{index}].line' must be a string", details={"field": "headerLines"})
        name, _, value = line.partition(":")
        headers.append((name.strip(), unfold(value)))
    return headers


def _addresses(data: dict[str, Any], key: str) -> list[Address]:
    """mailparser AddressObject ``{value: [{address, name} | {name, group: [...]}], text, html}``,
    or a list of them when the header repeats."""
    value = data.get(key)
    if value is None or value is False:
        return []
    found: list[Address] = []
    for item in value if isinstance(value, list) else [value]:
        entries = item.get("value") if isinstance(item, dict) else None
        if not isinstance(entries, list):
            raise BadPayload(f"field '{key}' must be a mailparser address object", details={"field": key})
        for entry in entries:
            # An RFC 5322 group ("Team: a@x, b@y;") lists its members under ``group``.
            members = entry.get("group") if isinstance(entry, dict) else None
            found.extend(_address(member, key) for member in (members if isinstance(members, list) else [entry]))
    return [address for address in found if address.address]


def _address(entry: Any, key: str) -> Address:
    if not isinstance(entry, dict):
        raise BadPayload(f"field '{key}.value' must hold address objects", details={"field": key})
    address, name = entry.get("address"), entry.get("name")
    return Address(name if isinstance(name, str) and name else None, address if isinstance(address, str) else "")


def _html(data: dict[str, Any]) -> str | None:
    # mailparser sets ``html`` to false (not null) when the message has no HTML part.
    html = data.get("html")
    if html is None or html is False:
        return None
    if not isinstance(html, str):
        raise BadPayload("field 'html' must be a string or false", details={"field": "html"})
    return html


def _attachments(data: dict[str, Any]) -> list[InboundAttachment]:
    found: list[InboundAttachment] = []
    for where, item in objects(data, "attachments"):
        cid = item.get("cid") or item.get("contentId")
        disposition = item.get("contentDisposition")
        found.append(
            InboundAttachment(
                filename=item.get("filename") if isinstance(item.get("filename"), str) else None,
                content_type=media_type(item.get("contentType")),
                data=_buffer(require(item, "content", dict, where), f"{where}.content"),
                content_id=cid.strip("<>") if isinstance(cid, str) and cid else None,
                disposition=disposition if disposition in ("inline", "attachment") else "attachment",
            )
        )
    return found


def _buffer(content: dict[str, Any], where: str) -> bytes:
    """Node serialises a Buffer as ``{"type": "Buffer", "data": [0..255, ...]}``."""
    data = content.get("data")
    if content.get("type") != "Buffer" or not isinstance(data, list):
        raise BadPayload(f"field '{where}' must be a Node Buffer object", details={"field": where})
    try:
        return bytes(data)  # C-speed validation: only ints 0..255 pass
    except (TypeError, ValueError):
        message = f"field '{where}.data' must be a list of byte values 0..255"
        raise BadPayload(message, details={"field": where}) from None


def _arrival(session: dict[str, Any]) -> datetime | None:
    return _iso_date(optional(session, "arrivalDate", str, "session"))


def _iso_date(text: str | None) -> datetime | None:
    """mailparser's ``date`` and ``session.arrivalDate`` are JSON (ISO 8601) dates."""
    return (parse_iso(text) or parse_date(text)) if text else None


def _auth(data: dict[str, Any]) -> dict[str, str]:
    """mailauth verdicts: ``spf/dmarc/arc.status.result``; DKIM has one result per signature."""
    verdicts: dict[str, str] = {}
    for name in ("spf", "dmarc", "arc"):
        result = _result(data.get(name))
        if result:
            verdicts[name] = result
    dkim = data.get("dkim")
    results = dkim.get("results") if isinstance(dkim, dict) else None
    found = [r for r in map(_result, results if isinstance(results, list) else []) if r]
    if found:
        verdicts["dkim"] = "pass" if "pass" in found else found[0]
    return verdicts


def _result(item: Any) -> str | None:
    status = item.get("status") if isinstance(item, dict) else None
    result = status.get("result") if isinstance(status, dict) else None
    return result.lower()[:32] if isinstance(result, str) and result else None
