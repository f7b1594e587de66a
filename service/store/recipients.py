"""Who a message was addressed to, as an indexed table (``messagerecipient``).

The read API filters by recipient: an exact address (``signup+run1@example.com``), a base address
that also matches every plus-tag (``signup@example.com``), or a tag alone (``run1``). The
``message`` row keeps its addresses as JSON lists, which no index can search, so the store writes
one row per distinct recipient (envelope recipients, then To and Cc) in the same transaction as
the message, already normalised:

* ``address``: lower-cased and trimmed (``Signup+Run1@Example.com`` → ``signup+run1@example.com``),
* ``base``: the address without its plus-tag (``signup@example.com``),
* ``tag``: the plus-tag (``run1``) or NULL.

Lower-casing the local part is what every mailbox provider Mailhook sits behind does in practice
(RFC 5321 leaves it to the receiving host). Queries go through ``(base, message_id)`` and
``(tag, message_id)``; the primary key ``(message_id, address)`` serves deletion.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from service.mail.inbound import InboundEmail
from service.mail.recipients import bare_address

#: Longer "addresses" (hostile headers) are not indexed: no real mailbox has one.
MAX_ADDRESS = 320


class MessageRecipient(SQLModel, table=True):
    # SQLite: the primary key is the table itself (WITHOUT ROWID), one b-tree fewer per insert.
    __table_args__ = (
        Index("ix_messagerecipient_base", "base", "message_id"),
        Index("ix_messagerecipient_tag", "tag", "message_id"),
        {"sqlite_with_rowid": False},
    )

    message_id: str = Field(primary_key=True, foreign_key="message.id", max_length=26)
    address: str = Field(primary_key=True, max_length=MAX_ADDRESS)
    base: str = Field(max_length=MAX_ADDRESS)
    tag: str | None = Field(default=None, max_length=MAX_ADDRESS)


@dataclass(frozen=True, slots=True)
class Recipient:
    """A normalised address split into its base address and plus-tag."""

    address: str
    base: str
    tag: str | None


def split_address(value: str) -> Recipient:
    """``Signup+Run1@X.org`` → (``signup+run1@x.org``, ``signup@x.org``, ``run1``).

    Plus-address parts as ``service.mail.recipients`` reads them (the tag starts at the first ``+``;
    ``<a@b>`` is ``a@b``), lower-cased whole. A local part that starts with ``+`` or ends with it
    has no tag."""
    address = bare_address(value).lower()
    local, at, domain = address.rpartition("@")
    if not at:
        return Recipient(address, address, None)
    head, plus, tag = local.partition("+")
    if not plus or not head or not tag:
        return Recipient(address, address, None)
    return Recipient(address, f"{head}@{domain}", tag)


def recipients_of(email: InboundEmail) -> list[Recipient]:
    """Distinct recipients: envelope first (what the forwarding provider delivered to), then the
    To and Cc headers (providers that give no envelope, and Bcc-less copies)."""
    seen: dict[str, Recipient] = {}
    for value in (*email.envelope_to, *(a.address for a in email.to), *(a.address for a in email.cc)):
        if not value or len(value) > MAX_ADDRESS or "\x00" in value:  # PostgreSQL text refuses NUL
            continue
        recipient = split_address(value)
        if recipient.address and recipient.address not in seen:
            seen[recipient.address] = recipient
    return list(seen.values())


RECIPIENT_COLUMNS = ("message_id", "address", "base", "tag")


def recipient_values(message_id: str, email: InboundEmail) -> list[tuple[str, str, str, str | None]]:
    """``messagerecipient`` rows for one message, in ``RECIPIENT_COLUMNS`` order."""
    return [(message_id, r.address, r.base, r.tag) for r in recipients_of(email)]
