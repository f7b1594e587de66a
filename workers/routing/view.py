"""The read-only view of a message that routing rules see.

Routing runs before any pipeline touches the message, so rules get a small, frozen,
provider-neutral snapshot instead of the parsed MIME object: that keeps rule evaluation
side-effect free, cheap to build in tests, and independent of how each provider shaped
its webhook.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from service.mail.recipients import bare_address, plus_tag

#: Longest prefix of any single value a condition looks at. Bodies can be many MB; rules
#: are meant for routing, not content scanning, so we bound the work per message.
MAX_SCAN_CHARS = 1 << 20


@dataclass(frozen=True)
class RoutableMessage:
    """Everything a routing rule may look at, already decoded to text."""

    source: str
    provider: str
    #: Who the mail was for, by ``service.mail.recipients.recipients``: the envelope, else To:, else Cc:.
    envelope_to: tuple[str, ...]
    envelope_from: str | None
    from_addr: str | None
    from_name: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    text: str
    html: str
    headers: tuple[tuple[str, str], ...]
    attachments: tuple[tuple[str, str], ...]
    #: Only some providers know these (Postmark, Forward Email; Mailgun, SendGrid, Postmark).
    bcc: tuple[str, ...] = ()
    stripped_text: str = ""
    #: The provider's spam verdict as (key, value) pairs: ("flag", "Yes"), ("score", "7.5").
    spam: tuple[tuple[str, str], ...] = ()
    #: Set when the worker read the mail as a bounce or complaint (``message.bounce``): its
    #: kind, reason and DSN status, and the addresses that bounced. None / () for other mail.
    bounce_kind: str | None = None
    bounce_reason: str | None = None
    bounce_status: str | None = None
    bounce_recipients: tuple[str, ...] = ()


def _from_values(msg: RoutableMessage) -> tuple[str, ...]:
    """`from` is matched against the address, the display name, and `Name <addr>`.

    Offering all three lets `is alice@example.org`, `contains Alice` and a pasted
    `Alice <alice@example.org>` all work; a condition matches if any form does.
    """
    values = [v for v in (msg.from_addr, msg.from_name) if v]
    if msg.from_addr and msg.from_name:
        values.append(f"{msg.from_name} <{msg.from_addr}>")
    return tuple(values)


def _tags(msg: RoutableMessage) -> tuple[str, ...]:
    return tuple(t for t in map(plus_tag, msg.envelope_to) if t is not None)


def _present(value: str | None) -> tuple[str, ...]:
    return (value,) if value else ()


class FieldExtractor:
    """Maps a rule field name to the candidate strings it is compared against.

    Every field yields a tuple (possibly empty); a condition matches when any candidate
    does, which is what "any recipient", "any header of that name" etc. mean.
    """

    EXTRACTORS: ClassVar[dict[str, Callable[[RoutableMessage], tuple[str, ...]]]] = {
        "recipient": lambda m: tuple(bare_address(a) for a in m.envelope_to),
        "from": _from_values,
        "to": lambda m: m.to,
        "cc": lambda m: m.cc,
        "subject": lambda m: (m.subject,),
        "text": lambda m: (m.text,),
        "html": lambda m: (m.html,),
        "bcc": lambda m: m.bcc,
        "stripped_text": lambda m: (m.stripped_text,),
        "attachment_name": lambda m: tuple(name for name, _type in m.attachments),
        "attachment_type": lambda m: tuple(ctype for _name, ctype in m.attachments),
        "source": lambda m: (m.source,),
        "provider": lambda m: (m.provider,),
        "tag": _tags,
        "bounce.kind": lambda m: _present(m.bounce_kind),
        "bounce.reason": lambda m: _present(m.bounce_reason),
        "bounce.status": lambda m: _present(m.bounce_status),
        "bounce.recipient": lambda m: tuple(bare_address(a) for a in m.bounce_recipients),
    }
    #: Fields that need a `name` (which header, which verdict), with what the name is.
    NAMED_FIELDS: ClassVar[dict[str, str]] = {
        "header": "the header name",
        "spam": "the verdict: flag, score, status, tests or report",
    }
    FIELDS: ClassVar[frozenset[str]] = frozenset(EXTRACTORS) | frozenset(NAMED_FIELDS)

    @classmethod
    def values(cls, msg: RoutableMessage, field: str, name: str | None = None) -> tuple[str, ...]:
        """Candidate strings for `field`, each capped at MAX_SCAN_CHARS."""
        if field in cls.NAMED_FIELDS:
            wanted = (name or "").lower()
            pairs = msg.headers if field == "header" else msg.spam
            raw = tuple(value for key, value in pairs if key.lower() == wanted)
        else:
            raw = cls.EXTRACTORS[field](msg)
        return tuple(v[:MAX_SCAN_CHARS] for v in raw if v is not None)
