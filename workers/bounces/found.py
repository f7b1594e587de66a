"""What a detector found in a bounce, before kind and reason are decided."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

_ADDRESS = re.compile(r"[^\s<>\"'(),;:\[\]]+@[^\s<>\"'(),;:\[\]]+")


@dataclass(frozen=True)
class Found:
    """One recipient as a detector read it; ``None`` fields were not stated."""

    address: str
    status: str | None = None
    reply_code: int | None = None
    diagnostic: str | None = None
    delayed: bool = False

    def filled_from(self, other: Found) -> Found:
        """This finding with the gaps filled from another finding about the same address."""
        status = self.status or other.status
        if self.status and other.status and self.status.endswith(".0.0") and other.status[0] == self.status[0]:
            status = other.status  # the notice names the precise code a generic DSN Status hides
        return replace(
            self,
            status=status,
            reply_code=self.reply_code or other.reply_code,
            diagnostic=self.diagnostic or other.diagnostic,
        )


@dataclass
class Scan:
    """Everything one detector read: recipients plus the report-level facts."""

    recipients: list[Found] = field(default_factory=list)
    reporting_mta: str | None = None
    original_message_id: str | None = None
    delivered: int = 0  # recipients a DSN reports as delivered, relayed or expanded (not failures)


def clean_address(value: str | None) -> str | None:
    """``rfc822; "Bob" <Bob@Example.COM>`` -> ``Bob@example.com``; ``None`` when no address."""
    if not value:
        return None
    text = value.strip()
    if ";" in text:
        kind, _, rest = text.partition(";")
        if " " not in kind.strip() and "@" not in kind:
            text = rest
    match = _ADDRESS.search(text.replace("\\@", "@"))
    if not match:
        return None
    address = match.group(0).strip(".").rstrip(">")
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain and not domain.startswith("["):
        return None
    return f"{local}@{domain.lower()}"


def same_address(a: str, b: str) -> bool:
    return a.lower() == b.lower()
