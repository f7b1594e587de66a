"""SendGrid Inbound Parse webhooks (../shared/providers.md §6.3).

Always ``multipart/form-data``. In the default (parsed) mode the message comes as fields:
``headers`` (the raw header block), ``text``, ``html``, ``from``/``to``/``cc``/``subject``, with
``charsets`` (JSON ``{field: charset}``) saying how each field is encoded, and attachments as
file parts ``attachment1..n`` described by ``attachment-info``. In raw mode ("POST the raw, full
MIME message") the message is the ``email`` field. Both modes carry ``envelope`` (JSON
``{"to": [...], "from": ...}``), the only place the SMTP recipients appear.

SendGrid has no delivery id; the optional ECDSA "signed webhook" security policy is not
supported here, so the secret URL (and HTTPS) is the authenticity check.
"""

from __future__ import annotations

import re
from typing import Any

from service.errors import BadPayload
from service.mail.inbound import InboundAttachment, InboundEmail
from service.mime.headers import HeaderFields, addresses, decode_words, header_fields, mime_headers
from service.providers.base import Delivery, InboundProvider
from service.providers.forms import MULTIPART, Form, media_type, parse_form
from service.providers.json_reader import JsonPairs

# ``dkim`` reads like "{@example.com : pass}" or "{@a.com : pass, @b.com : fail}".
_DKIM_VERDICT = re.compile(r":\s*([A-Za-z]+)")


class SendGrid(InboundProvider):
    """SendGrid Inbound Parse (parsed or raw mode)."""

    name = "sendgrid"

    def parse(self, delivery: Delivery) -> list[InboundEmail]:
        # SendGrid only ever posts multipart; anything else is not a Parse webhook.
        form = parse_form(delivery, accept=(MULTIPART,))
        charsets = {k: v for k, v in self._json_object(form, "charsets") if isinstance(v, str)}
        envelope_to, envelope_from = self._envelope(form)
        email = form.get("email")
        raw_mime = email.data if email is not None and email.data else None
        headers_part = form.get("headers")
        if raw_mime is not None:
            headers = mime_headers(raw_mime)
        elif headers_part is not None:
            headers = mime_headers(headers_part.data)
        else:
            raise BadPayload("expected an 'email' (raw mode) or 'headers' (parsed mode) field")
        fields = _fields(form, headers, charsets)
        # No delivery id: Message-ID + envelope recipients (§6.3).
        return [
            self.email_with_message_id(
                delivery,
                raw_mime,
                fields,
                envelope_to=envelope_to,
                raw_content_type=form.content_type,
                envelope_from=envelope_from,
                text=form.text("text", charsets.get("text")),
                html=form.text("html", charsets.get("html")),
                headers=headers,
                attachments=self._attachments(form),
                auth=_auth(form),
                spam=_spam(form),
            )
        ]

    def _json_object(self, form: Form, name: str) -> JsonPairs:
        """A form field holding a JSON object, as its pairs (repeated keys kept)."""
        found = self.json_field(form.text(name), name, pairs=True)
        if found is None:
            return JsonPairs()
        if not isinstance(found, JsonPairs):
            raise BadPayload(f"field '{name}' must be a JSON object", details={"field": name})
        return found

    def _envelope(self, form: Form) -> tuple[list[str], str | None]:
        envelope = self.json_field(form.text("envelope"), "envelope")
        if not isinstance(envelope, dict):
            raise BadPayload("field 'envelope' must be a JSON object {to, from}", details={"field": "envelope"})
        to, sender = envelope.get("to"), envelope.get("from")
        to = [to] if isinstance(to, str) else to
        if not isinstance(to, list) or not all(isinstance(a, str) for a in to) or not to:
            raise BadPayload("field 'envelope.to' must be a non-empty list of addresses", details={"field": "envelope"})
        if sender is not None and not isinstance(sender, str):
            raise BadPayload("field 'envelope.from' must be a string", details={"field": "envelope"})
        return to, sender or None

    def _attachments(self, form: Form) -> list[InboundAttachment]:
        """Files ``attachment1..n``; ``attachment-info`` is JSON ``{"attachment1": {filename, name,
        type, content-id}}`` — ``content-id`` is present for inline parts."""
        info = dict(self._json_object(form, "attachment-info"))
        # ``content-ids`` ({"cid": "attachmentN"}) names the inline parts too, in newer payloads;
        # a Content-ID may name two parts (a repeated key), so every pair counts.
        inline: dict[str, str] = {}
        for content_id, name in self._json_object(form, "content-ids"):
            if isinstance(name, str):
                inline.setdefault(name, content_id)
        found: list[InboundAttachment] = []
        for part in form.files():
            entry = info.get(part.name)
            meta: dict[str, Any] = dict(entry) if isinstance(entry, JsonPairs) else {}
            cid = meta.get("content-id") or inline.get(part.name)
            filename = named if isinstance(named := meta.get("filename"), str) else part.filename
            found.append(
                InboundAttachment(
                    filename=filename or None,
                    content_type=media_type(part.content_type or meta.get("type")),
                    data=part.data,
                    content_id=cid.strip("<>") if isinstance(cid, str) and cid else None,
                    disposition="inline" if isinstance(cid, str) and cid else "attachment",
                )
            )
        return found


def _fields(form: Form, headers: list[tuple[str, str]], charsets: dict[str, str]) -> HeaderFields:
    """Header-derived fields, falling back to the parsed-mode fields (decoded per ``charsets``)."""
    fields = header_fields(headers)

    def text(name: str) -> str | None:
        return form.text(name, charsets.get(name))

    fields["header_from"] = fields["header_from"] or next(iter(addresses(text("from"))), None)
    fields["to"] = fields["to"] or addresses(text("to"))
    fields["cc"] = fields["cc"] or addresses(text("cc"))
    fields["subject"] = fields["subject"] or decode_words(text("subject"))
    return fields


def _spam(form: Form) -> dict[str, str]:
    """SendGrid runs SpamAssassin when "Check incoming emails for spam" is on: ``spam_score``
    is its score, ``spam_report`` its report."""
    verdicts = {"score": (form.text("spam_score") or "").strip(), "report": (form.text("spam_report") or "").strip()}
    return {key: value[:2048] for key, value in verdicts.items() if value}


def _auth(form: Form) -> dict[str, str]:
    verdicts: dict[str, str] = {}
    spf = (form.text("SPF") or "").strip().lower()
    if spf:
        verdicts["spf"] = spf[:32]
    dkim = [v.lower() for v in _DKIM_VERDICT.findall(form.text("dkim") or "")]
    if dkim:
        verdicts["dkim"] = "pass" if "pass" in dkim else dkim[0][:32]
    return verdicts
