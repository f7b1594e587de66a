"""Provider-specific behaviour of the address adapters, each against its documented fake."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import pytest

from service.addresses.addy import Addy
from service.addresses.base import AddressProvider, ProviderError, ProviderNotFound
from service.addresses.service import provider_for
from tests.support.fakes.addy import FakeAddy
from tests.support.fakes.base import FakeAPI
from tests.support.fakes.cases import CASES, SMTP_TARGET, WEBHOOK
from tests.support.fakes.forwardemail import FakeForwardEmail
from tests.support.fakes.improvmx import FakeImprovMX
from tests.support.fakes.mittwald import FakeMittwald
from tests.support.fakes.proxiedmail import FakeProxiedMail
from tests.support.servers import serve_in_thread

F = TypeVar("F", bound=FakeAPI)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@contextmanager
def served(fake: F, http: httpx.AsyncClient, **fields: Any) -> Iterator[tuple[F, AddressProvider]]:
    case = CASES[type(fake).__name__.removeprefix("Fake").lower()]
    with serve_in_thread(fake.app()) as base:
        yield fake, provider_for(case.account(base, **fields), http)


# --- ProxiedMail -----------------------------------------------------------------------------


async def test_proxiedmail_binding_is_webhook_only_with_our_callback(http: httpx.AsyncClient) -> None:
    with served(FakeProxiedMail(), http) as (fake, provider):
        made = await provider.create("qa1", None)
    attributes = fake.bindings[made.provider_ref]["attributes"]
    assert made.address == "qa1@proxiedmail.com"
    assert attributes["callback_url"] == WEBHOOK
    # The seed doc: "use only webhook" -> real addresses on @proxiedmail-int.int.
    assert list(attributes["real_addresses"]) == ["qa1@proxiedmail-int.int"]
    assert made.created_at is not None


async def test_proxiedmail_names_a_random_proxy_address_like_the_docs(http: httpx.AsyncClient) -> None:
    with served(FakeProxiedMail(), http, domain="int.proxiedmail.com") as (_, provider):
        made = await provider.create(None, None)
    local, _, domain = made.address.partition("@")
    assert len(local) == 10 and local.isalnum() and domain == "int.proxiedmail.com"


async def test_proxiedmail_accepts_the_older_list_shaped_create_response(http: httpx.AsyncClient) -> None:
    with served(FakeProxiedMail(data_as_list=True), http) as (_, provider):
        made = await provider.create("qa2", None)
    assert made.address == "qa2@proxiedmail.com"


async def test_proxiedmail_real_addresses_from_the_account(http: httpx.AsyncClient) -> None:
    with served(FakeProxiedMail(), http, real_addresses=["qa@example.org"]) as (fake, provider):
        made = await provider.create("qa3", None)
    assert list(fake.bindings[made.provider_ref]["attributes"]["real_addresses"]) == ["qa@example.org"]


# --- ImprovMX --------------------------------------------------------------------------------


async def test_improvmx_alias_forwards_to_our_webhook(http: httpx.AsyncClient) -> None:
    with served(FakeImprovMX(), http) as (fake, provider):
        made = await provider.create("signup", "example.com")
    assert fake.aliases["example.com"]["signup"]["forward"] == WEBHOOK
    assert made.provider_ref == str(fake.aliases["example.com"]["signup"]["id"])


async def test_improvmx_list_reads_every_page(http: httpx.AsyncClient) -> None:
    fake = FakeImprovMX(page_size=5)
    for n in range(12):
        fake.seed(f"other{n}@example.com", "someone@example.org")
        if n % 4 == 0:
            fake.seed(f"ours{n}@example.com", f"someone@example.org, {WEBHOOK}")  # several destinations
    with served(fake, http) as (_, provider):
        listed = await provider.list()
    assert sorted(a.address for a in listed) == ["ours0@example.com", "ours4@example.com", "ours8@example.com"]
    assert [p for m, p in fake.requests if m == "GET"] == ["/v3/domains/example.com/aliases/"] * 3
    assert all(a.created_at is not None for a in listed)


async def test_improvmx_unknown_domain_is_not_found(http: httpx.AsyncClient) -> None:
    with served(FakeImprovMX(), http) as (_, provider), pytest.raises(ProviderNotFound) as caught:
        await provider.create("x", "nosuch.example")
    assert str(caught.value).endswith("-> 404): domain: Domain not found.")


# --- Forward Email ---------------------------------------------------------------------------


async def test_forwardemail_alias_recipient_is_our_webhook(http: httpx.AsyncClient) -> None:
    with served(FakeForwardEmail(), http) as (fake, provider):
        named = await provider.create("signup", None)
        generated = await provider.create(None, None)  # Forward Email names it
    assert fake.aliases[named.provider_ref]["recipients"] == [WEBHOOK]
    assert named.address == "signup@example.com" and generated.address.endswith("@example.com")
    assert generated.address != named.address


async def test_forwardemail_list_follows_x_page_count(http: httpx.AsyncClient) -> None:
    fake = FakeForwardEmail(max_limit=50)
    for n in range(120):
        fake.seed(f"a{n}@example.com", WEBHOOK if n % 2 else "https://elsewhere.test/hook")
    with served(fake, http) as (_, provider):
        listed = await provider.list()
    assert len(listed) == 60
    assert sum(1 for m, _ in fake.requests if m == "GET") == 3


# --- addy.io ---------------------------------------------------------------------------------


def _addy() -> FakeAddy:
    fake = FakeAddy()
    fake.add_recipient("someone@example.org")
    fake.add_recipient(SMTP_TARGET.upper())  # recipients compare case-insensitively
    return fake


async def test_addy_alias_goes_to_the_verified_recipient_that_is_our_smtp(http: httpx.AsyncClient) -> None:
    fake = _addy()
    ours = next(r for r, v in fake.recipients.items() if v["email"] == SMTP_TARGET.upper())
    with served(fake, http) as (_, provider):
        first = await provider.create("signup", None)
        second = await provider.create(None, None)
    assert fake.aliases[first.provider_ref]["recipient_ids"] == [ours]
    assert fake.aliases[second.provider_ref]["recipient_ids"] == [ours]
    assert [p for _, p in fake.requests].count("/api/v1/recipients") == 1  # looked up once
    assert first.address == "signup@example.com"


async def test_addy_recipient_id_from_the_config_skips_the_lookup(http: httpx.AsyncClient) -> None:
    fake = _addy()
    rid = fake.add_recipient("other@example.org")
    with served(fake, http, recipient_id=rid) as (_, provider):
        made = await provider.create(None, None)
    assert fake.aliases[made.provider_ref]["recipient_ids"] == [rid]
    assert "/api/v1/recipients" not in [p for _, p in fake.requests]


async def test_addy_without_our_verified_recipient_says_what_to_do(http: httpx.AsyncClient) -> None:
    fake = FakeAddy()
    fake.add_recipient(SMTP_TARGET, verified=False)
    with served(fake, http) as (_, provider), pytest.raises(ProviderError) as caught:
        await provider.create("x", None)
    assert f"addy.io has no verified recipient {SMTP_TARGET} on the account" in str(caught.value)
    assert fake.aliases == {}


async def test_addy_custom_local_part_on_a_shared_domain_is_refused_by_addy(http: httpx.AsyncClient) -> None:
    with served(_addy(), http) as (_, provider), pytest.raises(ProviderError) as caught:
        await provider.create("mine", "anonaddy.me")
    assert str(caught.value).endswith("-> 422): The local part field is required when format is custom.")


async def test_addy_alias_format_and_paging(http: httpx.AsyncClient) -> None:
    fake = _addy()
    with served(fake, http, alias_format="uuid") as (_, provider):
        assert isinstance(provider, Addy)
        ours = await provider.recipient_id()
        for n in range(150):
            fake.seed(f"a{n}@example.com", [ours])
        made = await provider.create(None, "anonaddy.me")
        listed = await provider.list()
    assert len(made.address.partition("@")[0]) == 36  # a UUID
    assert len(listed) == 151
    assert sum(1 for m, p in fake.requests if m == "GET" and p == "/api/v1/aliases") == 2


# --- mittwald --------------------------------------------------------------------------------


async def test_mittwald_forwarding_address_to_our_smtp(http: httpx.AsyncClient) -> None:
    with served(FakeMittwald(), http) as (fake, provider):
        made = await provider.create("signup", None)
    stored = fake.addresses[made.provider_ref]
    assert stored["address"] == "signup@example.com" and stored["forwardAddresses"] == [SMTP_TARGET]
    assert ("POST", "/v2/projects/p-123/mail-addresses") in fake.requests
    assert made.created_at is None  # mittwald reports no creation time


async def test_mittwald_unknown_project_is_not_found(http: httpx.AsyncClient) -> None:
    with served(FakeMittwald(), http, project_id="p-nope") as (_, provider), pytest.raises(ProviderNotFound) as caught:
        await provider.list()
    assert str(caught.value).endswith("(GET /v2/projects/p-nope/mail-addresses -> 404): project not found")


async def test_mittwald_domain_outside_the_project_is_its_validation_error(http: httpx.AsyncClient) -> None:
    with served(FakeMittwald(), http) as (_, provider), pytest.raises(ProviderError) as caught:
        await provider.create("x", "other.example")
    assert str(caught.value).endswith("-> 400): the domain is not set up in this project")
