"""``MailhookInbox``: one test's own address, and waits that only see mail sent after it was made.

Two ways to get a unique address:

* a **plus-address** on a base address whose mail already reaches Mailhook:
  ``signup@qa.example.com`` gives ``signup+<test-name>-<random>@qa.example.com``; nothing is
  created, and the server's ``to`` filter keeps each test's mail apart;
* a **provisioned alias**, made through a provider's API (``via="proxiedmail"``) with
  ``POST /api/v1/addresses`` and deleted again on :meth:`MailhookInbox.close`.

Either way the inbox takes the server's cursor *before* handing the address out, so a mail that
arrives before the test starts waiting is still found, and mail from earlier runs never is.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import KW_ONLY, dataclass, field

from service.client.errors import MailhookError
from service.client.models import Address, Summary
from service.client.sync import MailhookClient
from service.client.waiting import LinkMatch, Want

#: RFC 5321 caps a local part at 64 octets; the slug is cut to fit the base and the random part.
MAX_LOCAL_PART = 64
RANDOM_HEX = 6


def slugify(name: str) -> str:
    """``test_sign_up[chrome-1]`` -> ``sign-up-chrome-1``: safe in a local part, still recognisable."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug.removeprefix("test-") or "test"


def plus_address(base: str, name: str, random: str | None = None) -> str:
    """A fresh plus-address on ``base`` named after the test (an existing tag is kept as a prefix)."""
    local, at, domain = base.partition("@")
    if not at or not local or not domain:
        raise ValueError(f"not an email address: {base!r}")
    random = random or secrets.token_hex(RANDOM_HEX // 2)
    separator = "-" if "+" in local else "+"
    room = MAX_LOCAL_PART - len(local) - len(separator) - len(random) - 1
    slug = slugify(name)[: max(room, 0)].strip("-")
    tag = f"{slug}-{random}" if slug else random
    return f"{local}{separator}{tag}@{domain}"


@dataclass(frozen=True)
class InboxSettings:
    """Where the inbox's addresses come from and how long its waits last (see the plugin's options)."""

    address: str | None = None
    via: str | None = None
    domain: str | None = None
    timeout: float = 60.0
    cleanup: bool = False


@dataclass(eq=False, repr=False)
class MailhookInbox:
    """A unique address for one test, with waits that start at the cursor taken when it was made.

    Each successful wait moves :attr:`cursor` past the message it returned, so calling
    ``wait_for_message()`` twice returns two different messages, in the order they were stored;
    :attr:`started` stays the cursor the inbox was made with.
    """

    client: MailhookClient
    address: str
    cursor: str
    _: KW_ONLY
    timeout: float = 60.0
    provisioned: Address | None = None
    started: str = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.cursor

    @classmethod
    def create(cls, client: MailhookClient, settings: InboxSettings, name: str) -> MailhookInbox:
        """Take the cursor, then make the address (plus-address or provisioned alias)."""
        if settings.address and settings.via:
            raise MailhookError(
                "set either a base address (--mailhook-address) or a provider (--mailhook-via), not both"
            )
        cursor = client.cursor()
        if settings.via:
            made = client.create_address(settings.via, domain=settings.domain)
            return cls(client, made.address, cursor, timeout=settings.timeout, provisioned=made)
        if settings.address:
            return cls(client, plus_address(settings.address, name), cursor, timeout=settings.timeout)
        raise MailhookError(
            "mailhook_inbox needs --mailhook-address BASE@DOMAIN or --mailhook-via PROVIDER "
            "(or MAILHOOK_ADDRESS / MAILHOOK_VIA)"
        )

    def __repr__(self) -> str:
        return f"MailhookInbox({self.address!r}, cursor={self.cursor!r})"

    def wait_for_message(
        self, *, from_: str | None = None, subject: str | None = None, timeout: float | None = None, claim: bool = False
    ) -> Summary:
        """The next message to this address (``subject`` is a contains match)."""
        return self._wait(Want.message(), from_, subject, timeout, claim)

    def wait_for_code(
        self, *, from_: str | None = None, subject: str | None = None, timeout: float | None = None, claim: bool = False
    ) -> str:
        """The code of the next message to this address that carries one."""
        return self._pick(Want.code(), from_, subject, timeout, claim)

    def wait_for_link(
        self,
        match: LinkMatch = None,
        *,
        from_: str | None = None,
        subject: str | None = None,
        timeout: float | None = None,
        claim: bool = False,
    ) -> str:
        """The first link (containing ``match``, or matching it when it is a compiled regex) of the next message."""
        return self._pick(Want.link(match), from_, subject, timeout, claim)

    def messages(self) -> list[Summary]:
        """Every message to this address since the inbox was made, newest first."""
        return list(self.client.messages(to=self.address, since=self.started))

    def close(self, *, delete_messages: bool = False) -> None:
        """Delete the messages received (when asked) and the provisioned alias (always)."""
        try:
            if delete_messages:
                for message in self.messages():
                    self.client.delete(message.id)
        finally:
            if self.provisioned is not None:
                self.client.delete_address(self.provisioned.address, missing_ok=True)

    def _pick(self, want: Want, from_: str | None, subject: str | None, timeout: float | None, claim: bool) -> str:
        return want.picked(self._wait(want, from_, subject, timeout, claim))

    def _wait(self, want: Want, from_: str | None, subject: str | None, timeout: float | None, claim: bool) -> Summary:
        result = self.client.wait(
            self.address,
            want,
            from_=from_,
            subject=subject,
            since=self.cursor,
            timeout=self.timeout if timeout is None else timeout,
            claim=claim,
        )
        self.cursor = result.cursor
        return result.message
