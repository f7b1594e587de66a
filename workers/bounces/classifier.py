"""``classify(raw)``: is this mail a bounce or a complaint, and about whom?

Order of trust: a feedback report (ARF) is a complaint; a DSN's ``message/delivery-status``
part is read as the truth about recipients, status and remote text, with the notice text only
filling gaps; without either, the mail must look like a bounce (``signals``) and not be an
auto-reply or challenge (``autoreply``), and then the notice text is read (``text``). Kind and
reason per recipient come from ``status.verdict``.

Ordinary mail is turned away cheaply (``signals.may_be_report``): when its headers show no
sign of a report and its first bytes none of the phrases a notice needs, it is never parsed.
"""

from __future__ import annotations

import re
from email.message import Message
from email.utils import getaddresses

from service.mail.bounce import BouncedRecipient, BounceReport
from workers.bounces import arf, autoreply, dsn, mime, original, ses, signals, text
from workers.bounces.causes import text_cause
from workers.bounces.found import Found, Scan
from workers.bounces.status import find_command, find_reply_code, find_status, rcpt_failed, severity, verdict

_MAX_BYTES = 4 * 1024 * 1024  # bounces are small; past this only the head of the mail is read
_OWN_HEADERS = ("From", "To", "Cc", "Reply-To", "Return-Path", "Sender")
_ORIGINAL_OWN = ("From", "Sender", "Return-Path", "Reply-To")
_REPORTING_HOST = re.compile(
    r"\b(?:this is the [\w .-]{0,60}? at|at host|mail system at|"
    r"reporting-mta:\s*dns;)\s*([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)",
    re.IGNORECASE,
)


def classify_with_defects(raw: bytes) -> tuple[BounceReport | None, list[str]]:
    """The bounce report (``None`` for mail that is not a bounce or complaint) and the defects met.

    Never raises: a failure inside the classifier yields ``(None, [defect])`` so the caller can
    store the mail with the defect instead of losing it.
    """
    try:
        return _classify(raw), []
    except Exception as exc:  # hostile input must never escape (RecursionError, MemoryError included)
        first = str(exc).splitlines()[0][:200] if str(exc) else ""
        return None, [f"bounce classifier failed: {type(exc).__name__}: {first}".rstrip(": ")]


def classify(raw: bytes) -> BounceReport | None:
    """The bounce report of a raw mail, or ``None`` when it is not a bounce (never raises)."""
    return classify_with_defects(raw)[0]


def _classify(raw: bytes) -> BounceReport | None:
    if not isinstance(raw, bytes | bytearray) or not signals.may_be_report(bytes(raw)):
        return None
    msg = mime.parse(bytes(raw[:_MAX_BYTES]))
    complaint = arf.read(msg)
    if complaint is not None:
        return _complaint(complaint)
    notification = ses.read(mime.report_text_uncut(msg))
    if notification is not None:
        kind, scan = notification
        return _complaint(scan) if kind == "Complaint" else _report(scan, None, None, "")
    notice = mime.report_text(msg)
    read = dsn.read(msg)
    if autoreply.is_challenge(notice):
        return None
    if read is None or not read.recipients:
        if read is not None and read.delivered:
            return None  # a success DSN
        if autoreply.is_auto_reply(msg, notice) or not signals.looks_like_bounce(msg, notice):
            return None
    scan = read or Scan()
    headers = original.original_headers(msg) or original.inline_original(mime.report_text_uncut(msg))
    own = _own_addresses(msg, headers)
    sender = next((a for _, a in getaddresses([mime.header(msg, "From")])), "")
    fallback = _recipients_of(headers) if not scan.recipients else []
    from_text = text.read(notice, own, sender, fallback)
    scan.recipients = _merge(scan.recipients, from_text)
    scan.original_message_id = scan.original_message_id or original.message_id(headers)
    scan.reporting_mta = scan.reporting_mta or _reporting_host(notice)
    return _report(scan, text.general_diagnostic(notice, mime.header(msg, "Subject")), find_command(notice), notice)


def _merge(from_dsn: list[Found], from_text: list[Found]) -> list[Found]:
    """DSN recipients, gaps filled from the notice; the notice's own recipients when there is no DSN."""
    if not from_dsn:
        return from_text
    by_address = {found.address.lower(): found for found in from_text}
    return [
        found.filled_from(by_address[found.address.lower()]) if found.address.lower() in by_address else found
        for found in from_dsn
    ]


def _own_addresses(msg: Message, headers: Message | None) -> set[str]:
    values = [mime.header(msg, name) for name in _OWN_HEADERS]
    if headers is not None:
        values += [mime.header(headers, name) for name in _ORIGINAL_OWN]
    return {address.lower() for _, address in getaddresses(values) if "@" in address}


def _recipients_of(headers: Message | None) -> list[str]:
    if headers is None:
        return []
    return [address for _, address in getaddresses([mime.header(headers, "To")]) if "@" in address]


def _reporting_host(notice: str) -> str | None:
    match = _REPORTING_HOST.search(notice[:3000])
    return match.group(1).rstrip(".").lower() if match else None


def _report(scan: Scan, general: str | None, command: str | None, notice: str) -> BounceReport:
    alone = len(scan.recipients) == 1
    recipients = [
        _recipient(found, general if alone else None, rcpt_failed(notice, found.address) or command)
        for found in scan.recipients
    ]
    if recipients:
        top = max(recipients, key=lambda r: severity(r.kind))
        kind, reason, status, code, diagnostic = top.kind, top.reason, top.status, top.reply_code, top.diagnostic
    else:
        status, code = find_status(general), find_reply_code(general)
        overall = verdict(status, code, general)
        kind, reason, diagnostic = overall.kind, overall.reason, general
    return BounceReport(
        kind=kind,
        reason=reason,
        status=status,
        reply_code=code,
        diagnostic=diagnostic,
        recipients=recipients,
        reporting_mta=scan.reporting_mta,
        original_message_id=scan.original_message_id,
    )


def _recipient(found: Found, general: str | None, command: str | None) -> BouncedRecipient:
    diagnostic = found.diagnostic or general
    status = found.status or find_status(diagnostic)
    code = found.reply_code or find_reply_code(diagnostic)
    evidence = diagnostic
    if general and found.diagnostic and not status and text_cause(found.diagnostic) is None:
        evidence = f"{found.diagnostic}\n{general}"  # the recipient's own line says nothing: read the notice
    command = find_command(found.diagnostic) or command
    judged = verdict(status, code, evidence, delayed=found.delayed, command=command, address=found.address)
    return BouncedRecipient(found.address, status, code, diagnostic, judged.kind, judged.reason)


def _complaint(scan: Scan) -> BounceReport:
    recipients = [BouncedRecipient(f.address, None, None, f.diagnostic, "complaint", "policy") for f in scan.recipients]
    diagnostic = scan.recipients[0].diagnostic if scan.recipients else "feedback report"
    return BounceReport("complaint", "policy", None, None, diagnostic, recipients, None, scan.original_message_id)
