"""Amazon SES notifications delivered as mail (an SNS topic with an e-mail subscription).

The body is the SNS envelope (``{"Type": "Notification", "Message": "<SES JSON as a string>"}``)
or, with raw delivery, the SES JSON itself: ``notificationType`` (identity notifications) or
``eventType`` (event publishing) of ``Bounce``, ``Complaint``, ``Delivery`` or ``DeliveryDelay``
(../shared/bounces.md §1.6). Bounced recipients carry ``status`` and ``diagnosticCode`` when
the remote MTA sent a DSN. Mail clients wrap the long JSON line, so wrapping is undone first.
"""

from __future__ import annotations

import json
import re
from typing import Any

from workers.bounces.found import Found, Scan, clean_address
from workers.bounces.status import find_reply_code, normalise_status

_MARKER = re.compile(r"\\?\"(notificationType|eventType)\\?\"\s*:")
_WRAP = re.compile(r"!?\r?\n ")  # a wrapped long line (some clients mark the break with "!")


def read(body: str) -> tuple[str, Scan] | None:
    """``(type, scan)`` for an SES bounce, complaint or delay notification; ``None`` otherwise."""
    if not _MARKER.search(body):
        return None
    document = _document(body)
    if document is None:
        return None
    kind = str(document.get("eventType") or document.get("notificationType") or "")
    key = kind[:1].lower() + kind[1:]
    detail = document.get(key)
    if not isinstance(detail, dict):
        return None
    mail = _object(document.get("mail"))
    message_id = _object(mail.get("commonHeaders")).get("messageId")
    recipients = {
        "Bounce": "bouncedRecipients",
        "Complaint": "complainedRecipients",
        "DeliveryDelay": "delayedRecipients",
    }.get(kind)
    if recipients is None:
        return None
    found = [
        _found(item, delayed=kind == "DeliveryDelay") for item in detail.get(recipients) or [] if isinstance(item, dict)
    ]
    mta = detail.get("reportingMTA")
    scan = Scan(
        recipients=[f for f in found if f is not None],
        reporting_mta=mta.split(";", 1)[-1].strip() if isinstance(mta, str) else None,
        original_message_id=message_id if isinstance(message_id, str) else None,
    )
    return kind, scan


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _found(item: dict[str, Any], *, delayed: bool) -> Found | None:
    address = clean_address(str(item.get("emailAddress") or ""))
    if address is None:
        return None
    diagnostic = item.get("diagnosticCode")
    text = str(diagnostic).split(";", 1)[-1].strip() if diagnostic else None
    return Found(
        address=address,
        status=normalise_status(str(item.get("status") or "")) or None,
        reply_code=find_reply_code(text),
        diagnostic=text,
        delayed=delayed,
    )


def _document(body: str) -> dict[str, Any] | None:
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(_WRAP.sub("", body[start : end + 1]))
    except ValueError:
        return None
    if isinstance(data, dict) and isinstance(data.get("Message"), str):  # the SNS envelope
        try:
            data = json.loads(data["Message"])
        except ValueError:
            return None
    return data if isinstance(data, dict) else None
