"""Turning one SMTP transaction (envelope + exact DATA bytes) into an ``InboundEmail``.

Only headers are parsed here; bodies and attachments are parsed by the worker's ``parse`` step
from the stored raw bytes, so the SMTP session is answered as soon as the row is committed.
``build_email`` may raise on pathological input: the handler then stores ``fallback_email``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from service.inbound import InboundEmail, idempotency_key, normalise_message_id, parse_date
from service.smtp import addy
from service.smtp.config import SmtpConfig
from service.smtp.headers import MAX_VALUE_CHARS, addresses, first, header_list, parse_headers

PROVIDER = "smtp"
#: ``MessageRaw.payload`` for SMTP holds the transaction (who, to whom, over what); the message
#: itself is ``raw_mime`` in the blob store, so 50 MB are not stored twice.
ENVELOPE_CONTENT_TYPE = "application/vnd.mailhook.smtp-envelope+json"
#: Postgres cannot index values above ~2.7 kB; no real Message-ID comes close to this.
MAX_MESSAGE_ID_CHARS = 998


@dataclass(frozen=True, slots=True)
class SmtpEnvelope:
    """The SMTP transaction; the handler cleans every string of surrogate escapes and NULs first."""

    mail_from: str | None
    rcpt_tos: list[str]
    peer: str | None = None
    helo: str | None = None
    tls: bool = False
    auth_user: str | None = None
    mail_options: list[str] = field(default_factory=list)
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def as_json(self, size: int) -> bytes:
        record = {
            "transport": "smtp",
            "mail_from": self.mail_from,
            "rcpt_to": self.rcpt_tos,
            "mail_options": self.mail_options,
            "peer": self.peer,
            "helo": self.helo,
            "tls": self.tls,
            "auth_user": self.auth_user,
            "size": size,
            "received_at": self.received_at.isoformat(),
        }
        return json.dumps(record).encode()


def build_email(raw: bytes, envelope: SmtpEnvelope, config: SmtpConfig) -> InboundEmail:
    """Normalise headers, apply addy.io recovery, then derive the idempotency key."""
    headers, defects = parse_headers(raw)
    raw_message_id = first(headers, "Message-ID")
    message_id = normalise_message_id(raw_message_id)
    if message_id and len(message_id) > MAX_MESSAGE_ID_CHARS:
        defects.append("message_id_too_long")
        message_id = None
    subject = first(headers, "Subject")
    email = _base(raw, envelope, config, defects)
    email.header_from = next(iter(addresses(headers, "From", email.defects)), None)
    email.to = addresses(headers, "To", email.defects)
    email.cc = addresses(headers, "Cc", email.defects)
    email.reply_to = addresses(headers, "Reply-To", email.defects)
    email.subject = subject[:MAX_VALUE_CHARS] if subject is not None else None
    email.message_id = message_id
    email.date = _date(first(headers, "Date"), email.defects)
    email.headers = header_list(headers)
    if config.addy_recovery and addy.is_addy(headers):
        email = addy.apply(email, addy.recover(headers, _bodies(raw, email.defects)))
    email.idempotency_key = message_key(email, raw, raw_message_id, first(headers, "Date"))
    return email


def fallback_email(raw: bytes, envelope: SmtpEnvelope, config: SmtpConfig, defect: str) -> InboundEmail:
    """The raw bytes and the envelope only: what we store when header parsing failed or took too long."""
    email = _base(raw, envelope, config, [defect])
    email.idempotency_key = message_key(email, raw, None, None)
    return email


def message_key(email: InboundEmail, raw: bytes, message_id: str | None, date: str | None) -> str:
    """sha256(Message-ID | sorted recipients | Date); the content hash when there is no Message-ID.

    Recipients are taken after addy.io recovery, so one original sent to two aliases of the same
    user (same Message-ID, same real RCPT) stays two messages; an MTA's resend stays one.
    """
    recipients = ",".join(sorted({r.lower() for r in email.envelope_to}))
    if message_id and message_id.strip():
        return idempotency_key(PROVIDER, email.source, message_id.strip(), recipients, (date or "").strip())
    return idempotency_key(PROVIDER, email.source, "sha256:" + hashlib.sha256(raw).hexdigest(), recipients)


def _base(raw: bytes, envelope: SmtpEnvelope, config: SmtpConfig, defects: list[str]) -> InboundEmail:
    return InboundEmail(
        provider=PROVIDER,
        source=config.source,
        idempotency_key="",
        raw_payload=envelope.as_json(len(raw)),
        raw_content_type=ENVELOPE_CONTENT_TYPE,
        received_at=envelope.received_at,
        envelope_from=envelope.mail_from,
        envelope_to=list(envelope.rcpt_tos),
        raw_mime=raw,
        defects=list(dict.fromkeys(defects)),
    )


def _date(value: str | None, defects: list[str]) -> datetime | None:
    """The Date header, or ``None`` with an ``unparseable_date`` defect when one is present but bad."""
    try:
        parsed = parse_date(value)
    except (OverflowError, ArithmeticError, ValueError):  # years past datetime's range
        parsed = None
    if parsed is None and value:
        defects.append("unparseable_date")
    return parsed


def _bodies(raw: bytes, defects: list[str]) -> list[str]:
    """Body texts for the addy.io banner; a body the parser chokes on only costs the banner."""
    try:
        return addy.body_texts(raw)
    except Exception as exc:  # hostile MIME: the headers already recovered what they could
        defects.append(f"addy_banner_unreadable: {type(exc).__name__}")
        return []
