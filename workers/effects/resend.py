"""The bytes ``forward_smtp`` sends: the original message with a ``Resent-*`` block on top.

RFC 5322 §3.6.6: a message re-introduced into transport keeps its own headers and gains a
block of ``Resent-From``, ``Resent-To``, ``Resent-Date`` and ``Resent-Message-ID`` in front.
The block is *prepended as bytes* so the original is sent exactly as received: re-serialising
through ``email`` would re-fold headers and re-encode bodies, breaking DKIM signatures and
sometimes the content itself. aiosmtplib normalises line endings and dot-stuffs on send.

Providers that delivered JSON keep no raw MIME; for them a plain MIME message is rebuilt from
the stored fields and attachment blobs (it cannot carry the original's DKIM signature).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid

from service.moments import aware
from service.store.blobs import BlobStore
from service.store.models import Attachment, Message


def _clean(value: str) -> str:
    """Header values from config or stored mail must not smuggle in extra header lines."""
    return " ".join(value.split())


def resent_block(*, resent_from: str, to: list[str], now: datetime, message_id: str) -> bytes:
    """The four ``Resent-*`` lines, CRLF-terminated, recipients folded one per line."""
    recipients = ",\r\n ".join(_clean(address) for address in to)
    lines = [
        f"Resent-From: {_clean(resent_from)}",
        f"Resent-To: {recipients}",
        f"Resent-Date: {format_datetime(now)}",
        f"Resent-Message-ID: {message_id}",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def resent_message_id(message: Message, resent_from: str, to: list[str]) -> str:
    """Stable across retries of the same forward, so a receiver can spot a duplicate."""
    digest = hashlib.sha256("\x1f".join([message.id, *sorted(to)]).encode()).hexdigest()[:16]
    domain = resent_from.rpartition("@")[2].strip("<> ") or "mailhook.invalid"
    return f"<{message.id}.{digest}@{_clean(domain)}>"


def mime_from_fields(message: Message, attachments: list[Attachment], blobs: BlobStore) -> bytes:
    """A best-effort MIME rendering of a stored message that has no raw bytes."""
    mime = EmailMessage()
    sender = message.from_address or message.envelope_from
    if sender:
        mime["From"] = formataddr((_clean(message.from_name or ""), _clean(sender)))
    for header, addresses in (("To", message.to), ("Cc", message.cc), ("Reply-To", message.reply_to)):
        if addresses:
            mime[header] = ", ".join(formataddr((_clean(a.get("name") or ""), _clean(a["address"]))) for a in addresses)
    if message.subject:
        mime["Subject"] = _clean(message.subject)
    mime["Date"] = format_datetime(aware(message.date or message.received_at))
    mime["Message-ID"] = _clean(message.message_id) if message.message_id else make_msgid(domain="mailhook.invalid")
    mime.set_content(message.text or "")
    if message.html:
        mime.add_alternative(message.html, subtype="html")
    for row in attachments:
        _attach(mime, row, blobs)
    return mime.as_bytes(policy=SMTP)


def _attach(mime: EmailMessage, row: Attachment, blobs: BlobStore) -> None:
    maintype, _, subtype = row.content_type.partition("/")
    mime.add_attachment(
        blobs.read(row.sha256),
        maintype=maintype or "application",
        subtype=subtype or "octet-stream",
        filename=row.filename,
        disposition=row.disposition if row.disposition in ("inline", "attachment") else "attachment",
        cid=f"<{row.content_id.strip('<>')}>" if row.content_id else None,
    )
