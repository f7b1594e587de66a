"""The one shape every bounce is normalised into, whatever it arrived as.

A bounce mail read by ``workers.bounces``, a provider's bounce webhook and a pulled provider
log all end up as ``BouncedRecipient`` records (one per affected address), grouped in a
``BounceReport`` when they came together. The field names are the contract shared by the
classifier and the bounce store (PLAN.md, "Contract: bounce model").

Kinds:

* ``hard``      the address will not accept mail again: the mailbox or its domain does not
  exist, has moved, or the host accepts no mail (reasons ``user_unknown``, ``domain_not_found``).
  Like sisimai's ``hardbounce`` this is about the *address*, not the SMTP digit: a 5.x.x spam
  block, quota or size refusal is ``soft``, since the same address may take other mail later.
  Suppressing on ``hard`` is therefore safe.
* ``soft``      any other failure the sending MTA gave up on, permanent (5.x.x) or temporary
  (4.x.x), including a suspended mailbox, a policy block and an unreadable report.
* ``delayed``   a warning that delivery is still being retried (DSN ``Action: delayed``).
* ``complaint`` the recipient marked the mail as spam (ARF feedback report, provider event).

Reasons (a small taxonomy; anything finer stays in ``status`` and ``diagnostic``):

* ``user_unknown``     no such mailbox (x.1.1, x.1.0), moved (x.1.6), or disabled (x.2.1; ``soft``).
* ``mailbox_full``     over quota (x.2.2, x.3.1).
* ``domain_not_found`` the domain or its mail host does not exist (x.1.2, x.1.10, x.4.4).
* ``policy``           refused by the receiver: spam / content / reputation / authentication
  blocks, blacklists, relaying denied, a complaint (x.7.x).
* ``too_large``        the message exceeds a size limit (x.2.3, x.3.4).
* ``expired``          the sender's MTA gave up retrying (x.4.7, "retry timeout exceeded").
* ``other``            everything else, including network errors and unreadable reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["hard", "soft", "delayed", "complaint"]
Reason = Literal["user_unknown", "mailbox_full", "domain_not_found", "policy", "too_large", "expired", "other"]

KINDS: tuple[Kind, ...] = ("hard", "soft", "delayed", "complaint")
REASONS: tuple[Reason, ...] = (
    "user_unknown",
    "mailbox_full",
    "domain_not_found",
    "policy",
    "too_large",
    "expired",
    "other",
)


@dataclass(frozen=True)
class BouncedRecipient:
    """One address the report says could not be (or has not yet been) delivered to."""

    address: str
    status: str | None
    reply_code: int | None
    diagnostic: str | None
    kind: Kind
    reason: Reason


@dataclass(frozen=True)
class BounceReport:
    """A whole bounce: the overall verdict (the worst recipient's) and every recipient in it."""

    kind: Kind
    reason: Reason
    status: str | None
    reply_code: int | None
    diagnostic: str | None
    recipients: list[BouncedRecipient]
    reporting_mta: str | None
    original_message_id: str | None

    def as_dict(self) -> dict[str, Any]:
        """The short form ``mailhook inspect --json`` and routes (``bounce.kind``) see."""
        return {
            "kind": self.kind,
            "reason": self.reason,
            "status": self.status,
            "reply_code": self.reply_code,
            "recipients": [recipient.address for recipient in self.recipients],
            "diagnostic": self.diagnostic,
        }
