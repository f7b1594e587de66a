"""RFC 3464 delivery status notifications: the machine-readable ``message/delivery-status`` part.

Read leniently, because MTAs bend the format: per-recipient blocks without the blank line between
them (several ``Final-Recipient`` in one block), ``Action`` before ``Final-Recipient``, the
non-standard ``Action: error`` (OpenSMTPD), a missing ``Action`` (inferred from ``Status``),
addresses without the ``rfc822;`` type, the whole part base64-encoded, or the fields pasted into
a text/plain part instead (Amazon WorkMail, Exchange relays) — those are read too.
"""

from __future__ import annotations

import re
from email.message import Message

from workers.bounces import mime
from workers.bounces.fields import Field, blocks_from_text, first, part_text
from workers.bounces.found import Found, Scan, clean_address
from workers.bounces.status import better_status, find_reply_code, normalise_status

_RECIPIENT_FIELDS = ("original-recipient", "final-recipient", "x-actual-recipient")
_PER_RECIPIENT = frozenset(
    {*_RECIPIENT_FIELDS, "action", "status", "diagnostic-code", "remote-mta", "last-attempt-date", "will-retry-until"}
)
_FAILED_ACTIONS = ("fail", "error", "bounce", "reject", "undeliver")
_NOT_FAILED = ("deliver", "relay", "expand")
_DSN_IN_TEXT = re.compile(r"^(Final-Recipient|Original-Recipient)[ \t]*:", re.IGNORECASE | re.MULTILINE)
_TYPE_PREFIX = re.compile(r"^\s*(smtp|x-[\w-]+|unix|x400|mail)\s*;\s*", re.IGNORECASE)


def delivery_status_texts(msg: Message) -> list[str]:
    """The text of every delivery-status part; failing that, text parts carrying DSN fields."""
    texts = [part_text(part) for part in mime.walk(msg) if mime.content_type(part).endswith("delivery-status")]
    if texts:
        return texts
    return [
        text
        for part in mime.walk(msg)
        if mime.is_text_leaf(part)
        for text in [mime.payload_text(part)]
        if _DSN_IN_TEXT.search(text)
    ]


def read(msg: Message) -> Scan | None:
    """The recipients a DSN reports, or ``None`` when the mail carries no DSN fields at all.

    A DSN whose recipients were all delivered (or relayed, expanded) yields an empty scan.
    """
    texts = delivery_status_texts(msg)
    if not texts:
        return None
    scan = Scan()
    for text in texts:
        per_message, groups = _groups(blocks_from_text(text))
        if scan.reporting_mta is None:
            scan.reporting_mta = _mta(first(per_message, "reporting-mta"))
        for group in groups:
            found = _recipient(group)
            if found is not None:
                scan.recipients.append(found)
            elif _succeeded(group):
                scan.delivered += 1
    return scan


def _groups(blocks: list[list[Field]]) -> tuple[list[Field], list[list[Field]]]:
    """Per-message fields, and one field list per recipient (split on repeated recipient fields)."""
    per_message: list[Field] = []
    groups: list[list[Field]] = []
    for block in blocks:
        if not any(name in _RECIPIENT_FIELDS for name, _ in block):
            if any(name in _PER_RECIPIENT for name, _ in block) and groups:
                groups[-1].extend(block)  # an orphan Status/Action block belongs to the last recipient
            else:
                per_message.extend(block)
            continue
        current: list[Field] = []
        for name, value in block:
            # A repeated per-recipient field starts the next recipient (blocks run together).
            if name in _PER_RECIPIENT and any(n == name for n, _ in current):
                groups.append(current)
                current = []
            current.append((name, value))
        groups.append(current)
    return per_message, groups


def _recipient(group: list[Field]) -> Found | None:
    # Original-Recipient is the address the sender used (before aliasing), the one to suppress.
    address = clean_address(first(group, "original-recipient")) or clean_address(first(group, "final-recipient"))
    address = address or clean_address(first(group, "x-actual-recipient"))
    if address is None:
        return None
    declared = normalise_status(first(group, "status"))
    diagnostic = _TYPE_PREFIX.sub("", first(group, "diagnostic-code") or "").strip() or None
    action = (first(group, "action") or "").lower()
    if action.startswith(_NOT_FAILED) or (not action and declared and declared.startswith("2.")):
        return None
    if declared and declared.startswith("2.") and not action.startswith(_FAILED_ACTIONS):
        return None
    delayed = action.startswith("delay")
    return Found(
        address=address,
        status=better_status(declared, diagnostic),
        reply_code=find_reply_code(diagnostic),
        diagnostic=diagnostic,
        delayed=delayed,
    )


def _succeeded(group: list[Field]) -> bool:
    action = (first(group, "action") or "").lower()
    status = normalise_status(first(group, "status")) or ""
    return action.startswith(_NOT_FAILED) or (not action.startswith(_FAILED_ACTIONS) and status.startswith("2."))


def _mta(value: str | None) -> str | None:
    if not value:
        return None
    host = value.split(";", 1)[-1].strip()
    return host or None
