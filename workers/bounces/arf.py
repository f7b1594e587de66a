"""Feedback reports (RFC 5965 ARF, and Microsoft's JMRP/SNDS variant): a recipient complained.

ARF is ``multipart/report; report-type=feedback-report`` with a ``message/feedback-report``
part. The complaining address is ``Original-Rcpt-To`` (or ``Removal-Recipient``) when the
reporter shares it — most redact it — and otherwise the ``To`` of the returned original. Microsoft
sends plain ``multipart/mixed`` complaints with the original attached and the complainant in
``X-HmXmrOriginalRecipient`` instead of a report part. ``not-spam`` feedback is not a complaint.
"""

from __future__ import annotations

from email.message import Message

from workers.bounces import mime
from workers.bounces.fields import blocks_from_text, part_text
from workers.bounces.found import Found, Scan, clean_address
from workers.bounces.original import original_headers

_RECIPIENT_FIELDS = ("original-rcpt-to", "removal-recipient")
_NOT_COMPLAINTS = frozenset({"not-spam"})
_JMRP_RECIPIENT = "X-HmXmrOriginalRecipient"


def read(msg: Message) -> Scan | None:
    """The complainants of a feedback report, or ``None`` when this is not one."""
    reports = [part for part in mime.walk(msg) if mime.content_type(part) == "message/feedback-report"]
    if reports:
        return _arf(msg, reports)
    return _jmrp(msg)


def _arf(msg: Message, reports: list[Message]) -> Scan | None:
    fields = [field for part in reports for block in blocks_from_text(part_text(part)) for field in block]
    feedback_type = next((value.lower() for name, value in fields if name == "feedback-type"), "abuse")
    if feedback_type in _NOT_COMPLAINTS:
        return None
    addresses = [clean_address(value) for name, value in fields if name in _RECIPIENT_FIELDS]
    headers = original_headers(msg)
    if not any(addresses) and headers is not None:
        addresses = [clean_address(value) for value in headers.get_all("To", [])[:1]]
    return _scan([a for a in addresses if a], feedback_type, headers)


def _jmrp(msg: Message) -> Scan | None:
    headers = original_headers(msg)
    if headers is None or not headers.get(_JMRP_RECIPIENT):
        return None
    address = clean_address(str(headers.get(_JMRP_RECIPIENT)))
    return _scan([address] if address else [], "abuse", headers)


def _scan(addresses: list[str], feedback_type: str, headers: Message | None) -> Scan:
    unique = list(dict.fromkeys(addresses))
    diagnostic = f"feedback report: {feedback_type}"
    message_id = mime.header(headers, "Message-ID") or None if headers is not None else None
    return Scan(recipients=[Found(address=a, diagnostic=diagnostic) for a in unique], original_message_id=message_id)
