"""Provider-neutral rules for turning delivery-failure facts into the bounce model.

Every bounce source (webhooks in ``service.providers``, pulled logs in ``workers.bouncelogs``)
knows some of: an enhanced status (RFC 3463 ``5.1.1``), an SMTP reply code, the remote MTA's
text. These helpers map what is known onto ``service.mail.bounce``'s ``Kind`` and ``Reason`` the same
way everywhere (../shared/bounces.md §0.2), so a Postmark bounce and a pulled ImprovMX log line
for the same dead mailbox end up identical.

``hard`` is about the address, not the SMTP digit (see ``service.mail.bounce``): only "no such
mailbox" and "no such domain" are hard; a permanent spam block or a full mailbox is ``soft``.
"""

from __future__ import annotations

import hashlib
import re

from service.mail.bounce import Kind, Reason

#: Longest diagnostic kept per event; remote MTAs sometimes quote whole transcripts.
DIAGNOSTIC_MAX = 2000

_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_REPLY = re.compile(r"(?<![\d.])([245]\d\d)(?![\d.])")
# RFC 3463 subject.detail -> reason; anything unlisted is "other" (x.7.* handled separately).
_BY_DETAIL: dict[str, Reason] = {
    "1.0": "user_unknown",
    "1.1": "user_unknown",
    "1.6": "user_unknown",
    "2.1": "user_unknown",  # mailbox disabled: the address exists, so only soft (see kind_for)
    "1.2": "domain_not_found",
    "1.10": "domain_not_found",
    "4.4": "domain_not_found",
    "2.2": "mailbox_full",
    "3.1": "mailbox_full",
    "2.3": "too_large",
    "3.4": "too_large",
    "4.7": "expired",
}
# Remote MTAs that give no enhanced status still say what happened; first match wins.
_TEXT_RULES: tuple[tuple[Reason, re.Pattern[str]], ...] = (
    (
        "user_unknown",
        re.compile(
            r"user unknown|unknown user|no such (user|mailbox|recipient|address)|does not exist|"
            r"recipient not found|address rejected|invalid (recipient|mailbox|address)|not a valid mailbox|"
            r"mailbox (not found|unavailable)|account (is )?(disabled|does not exist)|undeliverable address",
            re.I,
        ),
    ),
    ("mailbox_full", re.compile(r"quota|mailbox (is )?full|insufficient (storage|space)|over ?quota", re.I)),
    (
        "domain_not_found",
        re.compile(r"host (or domain name )?not found|domain not found|no mx|nxdomain|name or service not known", re.I),
    ),
    ("too_large", re.compile(r"too (large|big)|size limit|exceeds? .*size|message size", re.I)),
    ("policy", re.compile(r"spam|block|blacklist|denylist|policy|reputation|rejected for|dmarc|spf|virus", re.I)),
)


def parse_status(text: str | None) -> str | None:
    """The first RFC 3463 enhanced status code in ``text`` (``"5.1.1"``), if any."""
    match = _STATUS.search(text or "")
    return ".".join(match.groups()) if match else None


def parse_reply_code(text: str | None) -> int | None:
    """The first three-digit SMTP reply code (2xx-5xx) in ``text``, if any."""
    match = _REPLY.search(text or "")
    return int(match.group(1)) if match else None


def reason_for(status: str | None, text: str | None = None, reply_code: int | None = None) -> Reason:
    """The reason from the enhanced status, else from the remote text (bounces.md §0.2)."""
    if status:
        _, _, detail = status.partition(".")
        if detail.startswith("7."):
            return "policy"
        if detail in _BY_DETAIL:
            return _BY_DETAIL[detail]
    for reason, pattern in _TEXT_RULES:
        if text and pattern.search(text):
            return reason
    if reply_code == 552 and text and "size" in text.lower():
        return "too_large"
    return "other"


def kind_for(reason: Reason, status: str | None, reply_code: int | None, *, permanent: bool | None = None) -> Kind:
    """``hard`` only when the failure is permanent *and* says the address or domain is gone.

    ``permanent`` is what the provider itself said (SES ``Permanent``, Mailgun ``permanent``);
    without it the first digit of the status or reply code decides. A provider's permanent
    verdict with nothing more specific (no status, code or telling text) is trusted as hard:
    the provider has given up on the address and usually suppresses it itself.
    """
    if permanent is None:
        first = (status or "")[:1] or str(reply_code or "")[:1]
        permanent = first == "5"
    elif permanent and reason == "other" and status is None and reply_code is None:
        return "hard"
    if not permanent:
        return "soft"
    if reason == "domain_not_found" or (reason == "user_unknown" and not (status or "").endswith(".2.1")):
        return "hard"
    return "soft"


def normalise_recipient(address: str) -> str:
    """Trimmed, without angle brackets or a ``rfc822;`` prefix, domain lower-cased (local parts
    may be case-sensitive, so they are kept; suppressions compare lower-cased)."""
    value = address.strip()
    if value.lower().startswith("rfc822;"):
        value = value[7:].strip()
    value = value.strip("<>").strip()
    local, at, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}" if at else value


def clip(text: str | None, limit: int = DIAGNOSTIC_MAX) -> str | None:
    """Diagnostics are remote text of any length: keep the start, which names the failure."""
    if text is None:
        return None
    text = text.strip()
    return (text[: limit - 1] + "…" if len(text) > limit else text) or None


def event_key(*parts: object) -> str:
    """A provider event id derived from the event's identifying fields, for sources without one."""
    joined = "\x1f".join("" if part is None else str(part) for part in parts)
    return "sha256:" + hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()


def provider_key(*parts: object) -> str:
    """A provider-given id (possibly joined with the recipient); hashed when too long to index."""
    joined = "|".join("" if part is None else str(part) for part in parts)
    return joined if len(joined) <= 255 else event_key(*parts)
