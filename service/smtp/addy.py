"""Recovering the true sender and the alias from mail forwarded by addy.io (../shared/providers.md §4.2).

addy.io has no webhook; it re-sends mail by SMTP to the user's real address. The copy we receive
comes *from* addy.io (envelope and usually ``From:`` are addy.io's "reply address"
``alias+sender=example.com@alias-domain``) and is addressed to the user's real mailbox, so without
this module every routing rule would see addy.io as the sender and never the alias.

Decisions (documented in the README's SMTP section as well):

* ``envelope_from`` becomes ``X-AnonAddy-Original-Envelope-From`` (else the original sender) and
  ``header_from`` the original ``From:`` (``X-AnonAddy-Original-From-Header``, else the sender).
* The alias is put *first* in ``envelope_to``; the real RCPT addresses are kept after it, because
  routing matches any envelope recipient and rules written for the mailbox must keep working.
* ``to``/``cc`` are restored from ``X-AnonAddy-Original-To``/``-Cc`` (addy.io rewrites them to
  reply addresses). ``reply_to`` is left as received: replying through addy.io keeps the alias private.
* The forwarder's own values are not lost: ``auth`` gets ``forwarded_by: addy.io``,
  ``forwarder_envelope_from``, ``forwarder_from`` and addy.io's verdict on the original
  (``X-AnonAddy-Authentication-Results``). The raw bytes are never modified.

These headers can be forged by anyone able to send to us, exactly like ``From:`` itself; set
``smtp.addy_recovery: false`` when no addy.io account forwards here.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from service.mail.inbound import Address, InboundEmail
from service.mime.body import text_parts
from service.mime.headers import (
    Headers,
    addresses,
    addresses_in,
    decode_words,
    first_header,
    header_values,
)

_ADDR = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}"
# "This email was sent to <alias>[ (description)] from <sender>[ with subject "…"]"
_BANNER = re.compile(rf"This\s+email\s+was\s+sent\s+to\s+(?P<alias>{_ADDR})", re.IGNORECASE)
_BANNER_FROM = re.compile(rf"\bfrom\s+(?P<sender>{_ADDR})", re.IGNORECASE)
_FEEDBACK_ID = re.compile(r":anonaddy\s*$", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]{0,4096}>")
_ADDY_HEADERS = (
    "X-AnonAddy-Original-Sender",
    "X-AnonAddy-Original-Envelope-From",
    "X-AnonAddy-Original-From-Header",
    "X-AnonAddy-Original-To",
)
#: Bodies are scanned for the banner only up to this many characters per part.
MAX_SCAN_CHARS = 1024 * 1024


@dataclass(frozen=True, slots=True)
class AddyForward:
    """What could be recovered; ``None`` fields leave the received value in place."""

    sender: str | None
    envelope_from: str | None
    header_from: Address | None
    alias: str | None
    to: list[Address] | None
    cc: list[Address] | None
    notes: dict[str, str] = field(default_factory=dict)


def is_addy(headers: Headers) -> bool:
    """addy.io adds ``Feedback-ID: F:<alias_id>:anonaddy`` and ``X-AnonAddy-Original-*`` headers."""
    if any(first_header(headers, name) is not None for name in _ADDY_HEADERS):
        return True
    return any(_FEEDBACK_ID.search(value) for value in header_values(headers, "Feedback-ID"))


def recover(headers: Headers, bodies: Iterable[str] = ()) -> AddyForward:
    """Pure: the original sender and alias from addy.io's headers, reply address and banner."""
    banner_alias, banner_sender = _banner(bodies)
    reply = _reply_address(headers)
    sender = _first_address(headers, "X-AnonAddy-Original-Sender") or _decode_reply(reply) or banner_sender
    original_from = _original_from(headers)
    return AddyForward(
        sender=sender,
        envelope_from=_first_address(headers, "X-AnonAddy-Original-Envelope-From") or sender,
        header_from=original_from[0] if original_from else (Address(None, sender) if sender else None),
        alias=banner_alias or _alias_in_recipients(headers, reply) or _alias_of_reply(reply),
        to=_optional_list(headers, "X-AnonAddy-Original-To"),
        cc=_optional_list(headers, "X-AnonAddy-Original-Cc"),
        notes=_notes(headers),
    )


def apply(email: InboundEmail, forward: AddyForward) -> InboundEmail:
    """A copy of ``email`` as the original sender sent it to the alias (see module docstring)."""
    auth = dict(email.auth)
    auth.update(forward.notes)
    auth["forwarded_by"] = "addy.io"
    auth["forwarder_envelope_from"] = email.envelope_from or ""
    auth["forwarder_from"] = email.header_from.address if email.header_from else ""
    if forward.alias:
        auth["addy_alias"] = forward.alias
    envelope_to = [forward.alias, *email.envelope_to] if forward.alias else list(email.envelope_to)
    return dataclasses.replace(
        email,
        envelope_from=forward.envelope_from or email.envelope_from,
        header_from=forward.header_from or email.header_from,
        envelope_to=list(dict.fromkeys(envelope_to)),
        to=forward.to if forward.to is not None else email.to,
        cc=forward.cc if forward.cc is not None else email.cc,
        auth=auth,
    )


def body_texts(raw: bytes) -> list[str]:
    """Decoded text/plain and text/html parts (tags stripped), each capped, for the banner search."""
    return [
        html.unescape(_TAG.sub(" ", text)) if kind == "text/html" else text
        for kind, text in text_parts(raw, MAX_SCAN_CHARS)
    ]


def _first_address(headers: Headers, name: str) -> str | None:
    found = addresses_in(headers, name)
    return found[0].address if found else None


def _original_from(headers: Headers) -> list[Address]:
    try:
        return addresses(decode_words(first_header(headers, "X-AnonAddy-Original-From-Header")))
    except Exception:  # nested comments recurse in email.utils; fall back to the bare sender
        return []


def _optional_list(headers: Headers, name: str) -> list[Address] | None:
    return addresses_in(headers, name) if first_header(headers, name) is not None else None


def _banner(bodies: Iterable[str]) -> tuple[str | None, str | None]:
    """The alias (and sender) from "This email was sent to <alias> … from <sender>"."""
    for text in bodies:
        match = _BANNER.search(text)
        if match:
            sender = _BANNER_FROM.search(text, match.end(), match.end() + 600)
            return match["alias"], sender["sender"] if sender else None
    return None, None


def _split_reply(address: str) -> tuple[str, str, str] | None:
    """``alias+sender=example.com@alias-domain`` → (alias local part, encoded sender, alias domain)."""
    local, at, domain = address.rpartition("@")
    alias_local, plus, encoded = local.partition("+")
    if not (at and plus and alias_local and "=" in encoded):
        return None
    return alias_local, encoded, domain


def _reply_address(headers: Headers) -> str | None:
    """addy.io's reply address: ``From:`` by default, ``Reply-To:`` in legacy/unverified-domain mode."""
    for name in ("From", "Reply-To"):
        for candidate in addresses_in(headers, name):
            if _split_reply(candidate.address):
                return candidate.address
    return None


def _decode_reply(reply: str | None) -> str | None:
    parts = _split_reply(reply) if reply else None
    if parts is None:
        return None
    user, _, domain = parts[1].rpartition("=")
    return f"{user}@{domain}" if user and "." in domain else None


def _alias_of_reply(reply: str | None) -> str | None:
    parts = _split_reply(reply) if reply else None
    return f"{parts[0]}@{parts[2]}" if parts else None


def _alias_in_recipients(headers: Headers, reply: str | None) -> str | None:
    """addy.io rewrites To/Cc to reply addresses except the alias itself, which it keeps."""
    reply_domain = reply.rpartition("@")[2].lower() if reply else None
    for candidate in addresses_in(headers, "To") + addresses_in(headers, "Cc"):
        if _split_reply(candidate.address):
            continue
        if reply_domain is None or candidate.address.rpartition("@")[2].lower() == reply_domain:
            return candidate.address
    return None


def _notes(headers: Headers) -> dict[str, str]:
    notes: dict[str, str | None] = {
        "addy_authentication_results": decode_words(first_header(headers, "X-AnonAddy-Authentication-Results"))
    }
    notes["addy_feedback_id"] = next((v for v in header_values(headers, "Feedback-ID") if _FEEDBACK_ID.search(v)), None)
    notes["addy_spam"] = decode_words(first_header(headers, "X-AnonAddy-Spam"))
    return {key: value.strip() for key, value in notes.items() if value}
