"""Turning one SMTP transaction (envelope + exact DATA bytes) into an ``InboundEmail``.

Only headers are parsed here; bodies and attachments are parsed by the worker's ``parse`` step
from the stored raw bytes, so the SMTP session is answered as soon as the row is committed.
``build_email`` may raise on pathological input: the handler then stores ``fallback_email``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from service.mail.inbound import InboundEmail
from service.mime.headers import first_header, header_fields, mime_headers_and_defects
from service.smtp import addy
from service.smtp.config import SmtpConfig
from service.store.ids import idempotency_key

PROVIDER = "smtp"
#: ``MessageRaw.payload`` for SMTP holds the transaction (who, to whom, over what); the message
#: itself is ``raw_mime`` in the blob store, so 50 MB are not stored twice.
ENVELOPE_CONTENT_TYPE = "application/vnd.mailhook.smtp-envelope+json"


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
    """Read the headers as every ingest path does, apply addy.io recovery, then derive the key."""
    headers, defects = mime_headers_and_defects(raw)
    fields = header_fields(headers, defects)
    email = dataclasses.replace(_base(raw, envelope, config, defects), headers=headers, **fields)
    if config.addy_recovery and addy.is_addy(headers):
        email = addy.apply(email, addy.recover(headers, _bodies(raw, email.defects)))
    email.idempotency_key = message_key(email, raw, first_header(headers, "message-id"), first_header(headers, "date"))
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


def _bodies(raw: bytes, defects: list[str]) -> list[str]:
    """Body texts for the addy.io banner; a body the parser chokes on only costs the banner."""
    try:
        return addy.body_texts(raw)
    except Exception as exc:  # hostile MIME: the headers already recovered what they could
        defects.append(f"addy_banner_unreadable: {type(exc).__name__}")
        return []
