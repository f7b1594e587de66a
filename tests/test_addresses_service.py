"""The shared create/delete/list functions: provider call + the ``provisionedaddress`` record,
and the ``addresses:`` config section they read."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import Engine

from service.addresses.service import (
    AddressNotFound,
    InvalidAddressRequest,
    UnknownAccount,
    create_address,
    delete_address,
    find_account,
    list_addresses,
)
from service.config import AppConfig, ConfigError, parse_config
from service.settings import Settings
from service.store import addresses as store
from service.store.db import make_engine
from tests.support.fakes.addy import FakeAddy
from tests.support.fakes.cases import SMTP_TARGET, WEBHOOK
from tests.support.fakes.improvmx import FakeImprovMX
from tests.support.servers import serve_in_thread


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def fakes() -> Iterator[tuple[FakeImprovMX, FakeAddy, AppConfig]]:
    improvmx, addy = FakeImprovMX(), FakeAddy()
    addy.add_recipient(SMTP_TARGET)
    with serve_in_thread(improvmx.app()) as imx_url, serve_in_thread(addy.app()) as addy_url:
        config = parse_config(
            textwrap.dedent(f"""
            addresses:
              - name: imx
                provider: improvmx
                api_key: ${{IMX_KEY}}
                base_url: {imx_url}/v3
                domain: example.com
                deliver_to: {WEBHOOK}
              - name: addy
                provider: addy
                api_key: {addy.api_key}
                base_url: {addy_url}
                domain: example.com
                deliver_to: {SMTP_TARGET}
            """),
            environ={"IMX_KEY": improvmx.api_key},
        )
        yield improvmx, addy, config


async def test_create_records_and_list_reads_the_record(
    fakes: tuple[FakeImprovMX, FakeAddy, AppConfig], engine: Engine, http: httpx.AsyncClient
) -> None:
    improvmx, addy, config = fakes

    first = await create_address(config, engine, http, via="imx", local_part="Signup")
    second = await create_address(config, engine, http, via="addy")

    assert first.address == "signup@example.com" and "signup" in improvmx.aliases["example.com"]
    assert second.address in {a["email"] for a in addy.aliases.values()}
    listed = await list_addresses(config, engine)
    assert [r.address for r in listed] == [second.address, first.address]  # newest first
    assert [r.address for r in await list_addresses(config, engine, via="imx")] == [first.address]
    assert first.as_dict() == {
        "address": "signup@example.com",
        "via": "imx",
        "provider_ref": first.provider_ref,
        "created_at": first.created_at.isoformat() if first.created_at else None,
    }
    row = store.get_address(engine, "SIGNUP@example.com")
    assert row is not None and row.provider == "improvmx"


async def test_delete_removes_at_the_provider_and_here(
    fakes: tuple[FakeImprovMX, FakeAddy, AppConfig], engine: Engine, http: httpx.AsyncClient
) -> None:
    improvmx, _, config = fakes
    made = await create_address(config, engine, http, via="imx", local_part="bye")

    gone = await delete_address(config, engine, http, made.address)

    assert gone.address == made.address and gone.via == "imx"
    assert improvmx.aliases["example.com"] == {}
    assert await list_addresses(config, engine) == []


async def test_delete_of_an_address_already_gone_at_the_provider_forgets_it(
    fakes: tuple[FakeImprovMX, FakeAddy, AppConfig], engine: Engine, http: httpx.AsyncClient
) -> None:
    improvmx, _, config = fakes
    made = await create_address(config, engine, http, via="imx", local_part="manual")
    improvmx.aliases["example.com"].clear()  # removed in ImprovMX's dashboard

    await delete_address(config, engine, http, made.address)

    assert store.get_address(engine, made.address) is None


async def test_delete_of_an_address_made_elsewhere_needs_via(
    fakes: tuple[FakeImprovMX, FakeAddy, AppConfig], engine: Engine, http: httpx.AsyncClient
) -> None:
    improvmx, _, config = fakes
    improvmx.seed("old@example.com", WEBHOOK)

    with pytest.raises(AddressNotFound, match="was not made by this Mailhook; pass --via"):
        await delete_address(config, engine, http, "old@example.com")
    remote = await list_addresses(config, engine, http, via="improvmx", remote=True)
    assert [r.address for r in remote] == ["old@example.com"]
    await delete_address(config, engine, http, "old@example.com", via="imx")
    assert improvmx.aliases["example.com"] == {}
    with pytest.raises(AddressNotFound, match="imx has no address old@example.com delivering to this Mailhook"):
        await delete_address(config, engine, http, "old@example.com", via="imx")


async def test_provider_errors_leave_no_record(
    fakes: tuple[FakeImprovMX, FakeAddy, AppConfig], engine: Engine, http: httpx.AsyncClient
) -> None:
    improvmx, _, config = fakes
    improvmx.api_key = "rotated-key"
    with pytest.raises(Exception, match="imx: improvmx refused the API key"):
        await create_address(config, engine, http, via="imx")
    assert await list_addresses(config, engine) == []


def test_via_names_an_account_or_the_provider_only_one_account_uses(
    fakes: tuple[FakeImprovMX, FakeAddy, AppConfig],
) -> None:
    _, _, config = fakes
    assert find_account(config, "imx").name == "imx"
    assert find_account(config, "improvmx").name == "imx"
    with pytest.raises(UnknownAccount, match=r"no address account 'nosuch' \(configured: imx, addy\)"):
        find_account(config, "nosuch")
    twice = config.model_copy(
        update={"addresses": [*config.addresses, config.addresses[0].model_copy(update={"name": "imx2"})]}
    )
    with pytest.raises(UnknownAccount, match=r"several address accounts use provider improvmx \(imx, imx2\)"):
        find_account(twice, "improvmx")


@pytest.mark.parametrize(
    ("local_part", "domain", "parameter"),
    [("a b", None, "local_part"), (".x", None, "local_part"), ("x/../y", None, "local_part"), ("x", "nodot", "domain")],
)
async def test_unsafe_local_parts_and_domains_are_refused_before_any_call(
    fakes: tuple[FakeImprovMX, FakeAddy, AppConfig],
    engine: Engine,
    http: httpx.AsyncClient,
    local_part: str,
    domain: str | None,
    parameter: str,
) -> None:
    improvmx, _, config = fakes
    with pytest.raises(InvalidAddressRequest) as caught:
        await create_address(config, engine, http, via="imx", local_part=local_part, domain=domain)
    assert caught.value.parameter == parameter
    assert improvmx.requests == []


# --- the config section ----------------------------------------------------------------------


def _config(account: str) -> AppConfig:
    return parse_config("addresses:\n" + textwrap.indent(textwrap.dedent(account), "  "), origin="mailhook.yaml")


def test_defaults_point_at_the_real_services() -> None:
    config = _config(f"""
        - name: pm
          provider: proxiedmail
          api_key: pm-key-0123456789
          deliver_to: {WEBHOOK}
        """)
    account = config.addresses[0]
    assert account.base_url is None and account.max_retries == 2
    assert "pm-key" not in repr(account) and WEBHOOK not in repr(account)  # both are secrets


@pytest.mark.parametrize(
    ("account", "error"),
    [
        (
            "- {name: m, provider: mittwald, api_key: k, domain: example.com, deliver_to: a@b.example}",
            "addresses.0: Value error, provider mittwald needs project_id",
        ),
        (
            "- {name: i, provider: improvmx, api_key: k, domain: example.com, deliver_to: a@b.example}",
            "deliver_to must be this Mailhook's webhook URL for improvmx",
        ),
        (
            f"- {{name: a, provider: addy, api_key: k, domain: example.com, deliver_to: '{WEBHOOK}'}}",
            "deliver_to must be an e-mail address that reaches this Mailhook's SMTP for addy",
        ),
        (
            f"- {{name: i, provider: improvmx, api_key: k, domain: example.com, deliver_to: '{WEBHOOK}', "
            "project_id: p}",
            "project_id is not used by provider improvmx",
        ),
        ("- {name: x, provider: gmail, api_key: k, deliver_to: a@b.example}", "unknown provider 'gmail'"),
        (
            "- {name: i, provider: improvmx, api_key: k, deliver_to: 'https://h.example/x'}",
            "provider improvmx needs domain",
        ),
        (
            "- {name: p, provider: proxiedmail, api_key: k, deliver_to: 'https://h.example/x', base_url: ftp://x}",
            "addresses.0.base_url: Value error, must be an http:// or https:// URL",
        ),
        (
            "- {name: p, provider: proxiedmail, api_key: k, deliver_to: 'https://h.example/x'}\n"
            "- {name: p, provider: proxiedmail, api_key: k, deliver_to: 'https://h.example/y'}",
            "duplicate address account names: p",
        ),
        (
            "- {name: My-Account, provider: proxiedmail, api_key: k, deliver_to: 'https://h.example/x'}",
            "addresses.0.name: Value error, must be lower-case letters, digits, '-' or '_', 1 to 63 of them"
            " (the name --via takes)",
        ),
        ("- {name: p, provider: proxiedmail, api_key: k, deliver_to: 'https://h.example/x', typo: 1}", "typo"),
    ],
)
def test_config_errors_name_the_key(account: str, error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _config(account)
    assert error in str(caught.value)
