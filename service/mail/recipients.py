"""The one rule for "the recipient" of a stored message, and plus-address parts.

A provider or SMTP session tells us the envelope recipients (the addresses the mail was actually
delivered to). A raw ``.eml`` posted without an envelope, or a provider that leaves it out, tells
us nothing; then the ``To:`` header, else ``Cc:``, is the best evidence. Slack texts, routes,
``mailhook inspect`` and every reader use this rule, so they never disagree about who mail was for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from email.utils import parseaddr
from typing import Any


def bare_address(address: str) -> str:
    """Strip whitespace, a display name and SMTP angle brackets: ``<a@b>`` and ``a@b`` compare equal."""
    address = address.strip()
    parsed = parseaddr(address)[1] if ("<" in address or " " in address) else address
    return (parsed or address).strip().removeprefix("<").removesuffix(">").strip()


def recipients(
    envelope_to: Sequence[str], to: Iterable[Mapping[str, Any]], cc: Iterable[Mapping[str, Any]]
) -> list[str]:
    """The envelope recipients when known, else the ``To:`` addresses, else the ``Cc:`` addresses."""
    envelope = [bare_address(a) for a in envelope_to if a and a.strip()]
    if envelope:
        return envelope
    for header in (to, cc):
        found = [bare_address(str(a["address"])) for a in header if a.get("address")]
        if found:
            return found
    return []


def plus_tag(address: str) -> str | None:
    """TAG for ``user+TAG@domain`` (everything after the first '+'), else None.

    The first '+' is the separator (RFC 5233 sub-addressing), so ``a+b+c@x`` has tag ``b+c``.
    An empty tag (``user+@x``) counts as no tag.
    """
    local, at, _domain = bare_address(address).rpartition("@")
    if not at:
        return None
    _user, plus, tag = local.partition("+")
    return tag if plus and tag else None


def base_address(address: str) -> str:
    """``user@domain`` for ``user+tag@domain`` (lower-cased domain); the address itself otherwise."""
    local, at, domain = bare_address(address).rpartition("@")
    if not at:
        return bare_address(address)
    return f"{local.partition('+')[0]}@{domain.lower()}"
