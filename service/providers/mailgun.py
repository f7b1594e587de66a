"""Mailgun inbound routes with a ``forward("https://...")`` action (../shared/providers.md §6.2).

Mailgun posts a form: url-encoded, or ``multipart/form-data`` when the message has attachments
(``attachment-1..n`` file parts, ``content-id-map`` naming the inline ones). A route URL ending in
``mime`` gets the raw message in ``body-mime`` instead of the parsed fields.

Mailgun signs ``timestamp + token`` (not the body) with the account's webhook signing key, so the
signature proves origin and freshness but not integrity of the fields; the secret URL and HTTPS
cover that. Freshness: a ±15 minute window on ``timestamp`` plus each ``token`` accepted once.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from service.errors import BadPayload, Unauthorized
from service.ingest.nonces import NonceCache
from service.mail.inbound import InboundAttachment, InboundEmail, from_timestamp, normalise_message_id
from service.mime.headers import addresses, first_header, header_fields, header_verdicts, mime_headers
from service.providers.base import Delivery, InboundProvider
from service.providers.forms import Form, media_type, parse_form
from service.providers.json_reader import JsonPairs, header_pairs

#: How far ``timestamp`` may be from our clock; tokens are remembered for the whole span.
WINDOW_S = 15 * 60
#: Mailgun's spam filter stamps every routed message: ``X-Mailgun-Sflag: Yes`` when it judged
#: the message spam, ``X-Mailgun-Sscore`` the score behind it ("usually above 5.0 is spam").
SPAM_HEADERS = {"flag": "x-mailgun-sflag", "score": "x-mailgun-sscore"}


def mailgun_spam(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Mailgun's spam verdict (also in ProxiedMail payloads, which Mailgun parsed upstream)."""
    return header_verdicts(headers, SPAM_HEADERS)


class Mailgun(InboundProvider):
    """Mailgun route forwards (form posts signed over timestamp + token)."""

    name = "mailgun"

    def __init__(self) -> None:
        super().__init__()
        self._parsed: tuple[Delivery, Form] | None = None

    def _form(self, delivery: Delivery) -> Form:
        # verify(), parse() and check_replay() all read the form; an instance serves one request.
        if self._parsed is None or self._parsed[0] is not delivery:
            self._parsed = (delivery, parse_form(delivery))
        return self._parsed[1]

    def verify(self, delivery: Delivery) -> None:
        """``signature`` = hex HMAC-SHA256(key=signing key, msg=timestamp + token); subaccount
        deliveries may carry ``parent-signature`` made with the parent account's key instead."""
        if not delivery.source.signing_keys:
            return
        form = self._form(delivery)
        timestamp, token = form.get("timestamp"), form.get("token")
        presented = [p.data for p in (form.get("signature"), form.get("parent-signature")) if p]
        if timestamp is None or token is None or not presented:
            raise Unauthorized("missing Mailgun signature fields (timestamp, token, signature)")
        verify_signature(delivery, timestamp.data, token.data, presented)

    async def check_replay(self, delivery: Delivery, nonces: NonceCache) -> None:
        # Only a verified token means anything; unsigned sources rely on the secret URL alone.
        if not delivery.source.signing_keys:
            return
        token = self._form(delivery).text("token") or ""
        if not await nonces.first_use(self.name, token, 2 * WINDOW_S):
            raise Unauthorized("Mailgun token was already used: the delivery is a replay")

    async def release_replay(self, delivery: Delivery, nonces: NonceCache) -> None:
        if delivery.source.signing_keys:
            await nonces.forget(self.name, self._form(delivery).text("token") or "")

    def parse(self, delivery: Delivery) -> list[InboundEmail]:
        form = self._form(delivery)
        recipients = [r.strip() for r in (form.text("recipient") or "").split(",") if r.strip()]
        if not recipients:
            raise BadPayload("missing field 'recipient'", details={"field": "recipient"})
        mime = form.get("body-mime")
        raw_mime = mime.data if mime is not None and mime.data else None
        headers = self._headers(form, raw_mime)
        if not headers and form.get("from") is None:
            raise BadPayload("no message: expected 'message-headers', 'body-mime' or 'from'")
        fields = header_fields(headers)
        fields["message_id"] = fields["message_id"] or normalise_message_id(form.text("Message-Id"))
        fields["header_from"] = fields["header_from"] or next(iter(addresses(form.text("from"))), None)
        fields["to"] = fields["to"] or addresses(form.text("To"))
        fields["cc"] = fields["cc"] or addresses(form.text("Cc"))
        fields["subject"] = fields["subject"] or form.text("subject")
        # No event id in route posts: Message-Id + recipient (§6.2).
        return [
            self.email_with_message_id(
                delivery,
                raw_mime,
                fields,
                received_at=_timestamp(form) or delivery.received_at,
                envelope_to=recipients,
                raw_content_type=form.content_type,
                envelope_from=form.text("sender") or None,
                text=form.text("body-plain"),
                html=form.text("body-html"),
                # The reply without quoted text or signature, by Mailgun's heuristics.
                stripped_text=form.text("stripped-text"),
                headers=headers,
                attachments=self._attachments(form),
                auth=_auth(headers),
                spam=mailgun_spam(headers),
            )
        ]

    def _headers(self, form: Form, raw_mime: bytes | None) -> list[tuple[str, str]]:
        """Headers from ``body-mime`` when present, else ``message-headers``: a JSON string of
        ``[[name, value], ...]``, order and repeats preserved (the per-header fields keep one each)."""
        if raw_mime is not None:
            try:
                return mime_headers(raw_mime)
            except BadPayload:
                pass
        pairs = self.json_field(form.text("message-headers"), "message-headers") or []
        return header_pairs(pairs, "message-headers")

    def _attachments(self, form: Form) -> list[InboundAttachment]:
        """``attachment-N`` file parts; ``content-id-map`` is JSON ``{"<cid>": "attachment-N"}``
        naming the inline ones. Its keys can repeat (one Content-ID on two parts): every pair
        counts, or the earlier parts would lose their Content-ID and turn into attachments."""
        cid_map = self.json_field(form.text("content-id-map"), "content-id-map", pairs=True) or JsonPairs()
        if not isinstance(cid_map, JsonPairs):
            raise BadPayload("field 'content-id-map' must be a JSON object", details={"field": "content-id-map"})
        cids: dict[str, str] = {}
        for cid, name in cid_map:
            if isinstance(name, str):
                cids.setdefault(name, cid.strip("<>"))
        return [
            InboundAttachment(
                filename=part.filename or None,
                content_type=media_type(part.content_type),
                data=part.data,
                content_id=cids.get(part.name),
                disposition="inline" if part.name in cids else "attachment",
            )
            for part in form.files()
            if part.name.startswith("attachment")
        ]


def verify_signature(delivery: Delivery, timestamp: bytes, token: bytes, signatures: list[bytes]) -> None:
    """Mailgun's signature scheme, shared by route forwards and event webhooks."""
    presented = [signature.strip().lower() for signature in signatures]
    matched = False
    for key in delivery.source.signing_keys:  # every key and signature, no short-circuit
        expected = hmac.new(key.get_secret_value().encode(), timestamp + token, hashlib.sha256)
        for signature in presented:
            matched |= hmac.compare_digest(expected.hexdigest().encode(), signature)
    if not matched:
        raise Unauthorized("Mailgun signature does not match for any signing key")
    signed_at = parse_timestamp(timestamp.decode("ascii", "replace"))
    if signed_at is None or abs((delivery.received_at - signed_at).total_seconds()) > WINDOW_S:
        raise Unauthorized("Mailgun signature is stale: timestamp is outside the 15-minute window")


def parse_timestamp(text: str) -> datetime | None:
    if not (text.isascii() and text.isdigit() and len(text) <= 12):
        return None
    return from_timestamp(int(text))


def _timestamp(form: Form) -> datetime | None:
    return parse_timestamp(form.text("timestamp") or "")


def _auth(headers: list[tuple[str, str]]) -> dict[str, str]:
    # Mailgun stamps routed mail with X-Mailgun-Spf and X-Mailgun-Dkim-Check-Result ("Pass", ...)
    # (from Mailgun's docs, not re-checked against a capture).
    verdicts = {
        "spf": first_header(headers, "x-mailgun-spf"),
        "dkim": first_header(headers, "x-mailgun-dkim-check-result"),
    }
    return {name: value.strip().lower()[:32] for name, value in verdicts.items() if value and value.strip()}
