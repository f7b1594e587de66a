"""One table for the address-provider tests: each provider's fake and a matching account."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from service.addresses.config import ConfiguredAccount
from tests.support.fakes.addy import FakeAddy
from tests.support.fakes.base import FakeAPI
from tests.support.fakes.forwardemail import FakeForwardEmail
from tests.support.fakes.improvmx import FakeImprovMX
from tests.support.fakes.mittwald import FakeMittwald
from tests.support.fakes.proxiedmail import FakeProxiedMail

#: Where webhook providers deliver (a Mailhook hook URL with its secret in the path).
WEBHOOK = "https://mailhook.test/hooks/inbound/hook-secret-0123456789abcdef"
#: Where SMTP-forwarding providers deliver (an address `mailhook smtp` accepts).
SMTP_TARGET = "inbox@mx.mailhook.test"


@dataclass(frozen=True)
class Case:
    provider: str
    make_fake: Callable[[], FakeAPI]
    #: Appended to the fake's URL: ImprovMX's API root is versioned.
    root: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    #: The domain addresses end up on when none is asked for.
    domain: str = "example.com"

    def account(self, base_url: str, *, api_key: str | None = None, **overrides: Any) -> ConfiguredAccount:
        values = {
            "name": self.provider,
            "provider": self.provider,
            "api_key": api_key or FakeAPI.api_key,
            "base_url": base_url + self.root,
            **self.fields,
            **overrides,
        }
        return ConfiguredAccount.model_validate(values)

    def seed_foreign(self, fake: Any, address: str, target: str) -> None:
        """An address on the account made outside Mailhook, delivering to ``target``."""
        if self.provider in ("proxiedmail", "improvmx", "forwardemail"):
            fake.seed(address, target)
        elif self.provider == "addy":
            rid = next((r for r, v in fake.recipients.items() if v["email"] == target), None)
            fake.seed(address, [rid or fake.add_recipient(target)])
        else:
            fake.seed("p-123", address, [target])


def _addy() -> FakeAddy:
    fake = FakeAddy()
    fake.add_recipient("someone@example.org")
    fake.add_recipient(SMTP_TARGET)
    fake.add_recipient("unverified@example.org", verified=False)
    return fake


CASES: dict[str, Case] = {
    "proxiedmail": Case("proxiedmail", FakeProxiedMail, fields={"deliver_to": WEBHOOK}, domain="proxiedmail.com"),
    "improvmx": Case("improvmx", FakeImprovMX, root="/v3", fields={"deliver_to": WEBHOOK, "domain": "example.com"}),
    "forwardemail": Case("forwardemail", FakeForwardEmail, fields={"deliver_to": WEBHOOK, "domain": "example.com"}),
    "addy": Case("addy", _addy, fields={"deliver_to": SMTP_TARGET, "domain": "example.com"}),
    "mittwald": Case(
        "mittwald", FakeMittwald, fields={"deliver_to": SMTP_TARGET, "domain": "example.com", "project_id": "p-123"}
    ),
}
