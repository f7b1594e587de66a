"""Make, remove and list provider addresses, recording each in the ``provisionedaddress`` table.

Shared by ``mailhook addresses`` and ``/api/v1/addresses``: both pass the config in force, the
engine and an ``httpx.AsyncClient``; every failure is an ``AddressError`` whose ``str()`` is one
line fit for a terminal or a JSON error body.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Engine

from service.addresses.account import AddressAccount
from service.addresses.base import (
    AddressError,
    AddressProvider,
    ProviderNotFound,
    ProvisionedAddress,
    Sleep,
)
from service.addresses.registry import ADDRESS_PROVIDERS
from service.config import AppConfig
from service.store import addresses as store

_LOCAL_PART = re.compile(r"^[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


class UnknownAccount(AddressError):
    """``via`` names no configured account (or a provider several accounts use)."""


class AddressNotFound(AddressError):
    """The address is not one this Mailhook made, nor one the named account delivers here."""


class InvalidAddressRequest(AddressError):
    """A local part or domain we would not send to a provider; ``parameter`` names which."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True, slots=True)
class AddressRecord:
    """An address as the CLI and API report it; ``via`` is the account name."""

    address: str
    via: str
    provider: str
    provider_ref: str
    created_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """The API's address object (PLAN.md read-API contract)."""
        return {
            "address": self.address,
            "via": self.via,
            "provider_ref": self.provider_ref,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


def find_account(config: AppConfig, via: str) -> AddressAccount:
    """The account named ``via``, else the only account of provider ``via``."""
    accounts = config.addresses
    named = next((a for a in accounts if a.name == via), None)
    if named is not None:
        return named
    of_provider = [a for a in accounts if a.provider == via]
    if len(of_provider) == 1:
        return of_provider[0]
    if of_provider:
        names = ", ".join(a.name for a in of_provider)
        raise UnknownAccount(f"several address accounts use provider {via} ({names}); name one with --via")
    known = ", ".join(a.name for a in accounts) or "none; add an `addresses:` section to the config"
    raise UnknownAccount(f"no address account {via!r} (configured: {known})")


def provider_for(account: AddressAccount, http: httpx.AsyncClient, *, sleep: Sleep = asyncio.sleep) -> AddressProvider:
    return ADDRESS_PROVIDERS[account.provider](account, http, sleep=sleep)


async def create_address(
    config: AppConfig,
    engine: Engine,
    http: httpx.AsyncClient,
    *,
    via: str,
    local_part: str | None = None,
    domain: str | None = None,
) -> AddressRecord:
    account = find_account(config, via)
    local_part, domain = _checked(local_part, domain)
    made = await provider_for(account, http).create(local_part, domain)
    try:
        row = await asyncio.to_thread(
            store.record_address,
            engine,
            address=made.address,
            account=account.name,
            provider=account.provider,
            provider_ref=made.provider_ref,
        )
    except Exception as exc:  # the address exists at the provider: say how to remove it
        raise AddressError(
            f"{account.name} made {made.address} but it could not be recorded ({exc.__class__.__name__}); "
            f"remove it with: mailhook addresses delete {made.address} --via {account.name}"
        ) from exc
    return _record(row)


async def delete_address(
    config: AppConfig, engine: Engine, http: httpx.AsyncClient, address: str, *, via: str | None = None
) -> AddressRecord:
    """Remove at the provider, then here. An address the provider already lost is just forgotten;
    one this Mailhook did not make is removed only when ``via`` names the account to look in."""
    row = await asyncio.to_thread(store.get_address, engine, address)
    if row is None:
        return await _delete_unrecorded(config, http, address, via)
    account = next((a for a in config.addresses if a.name == row.account), None)
    if account is None:
        raise UnknownAccount(f"{row.address} was made through account {row.account!r}, which is no longer configured")
    if via is not None and find_account(config, via).name != account.name:
        raise InvalidAddressRequest("via", f"{row.address} was made through {account.name}, not {via}")
    try:
        await provider_for(account, http).delete(ProvisionedAddress(row.address, row.provider_ref))
    except ProviderNotFound:
        pass  # already gone at the provider (removed by hand): forgetting it here finishes the job
    await asyncio.to_thread(store.delete_address, engine, row.address)
    return _record(row)


async def _delete_unrecorded(
    config: AppConfig, http: httpx.AsyncClient, address: str, via: str | None
) -> AddressRecord:
    if via is None:
        raise AddressNotFound(f"{address} was not made by this Mailhook; pass --via ACCOUNT to remove it at a provider")
    account = find_account(config, via)
    provider = provider_for(account, http)
    wanted = address.strip().lower()
    match = next((a for a in await provider.list() if a.address.lower() == wanted), None)
    if match is None:
        raise AddressNotFound(f"{account.name} has no address {address} delivering to this Mailhook")
    await provider.delete(match)
    return AddressRecord(match.address, account.name, account.provider, match.provider_ref, match.created_at)


async def list_addresses(
    config: AppConfig,
    engine: Engine,
    http: httpx.AsyncClient | None = None,
    *,
    via: str | None = None,
    remote: bool = False,
) -> list[AddressRecord]:
    """What this Mailhook made (newest first), or with ``remote`` what ``via``'s provider says
    delivers here, including addresses made outside Mailhook."""
    account = find_account(config, via) if via is not None else None
    if not remote:
        rows = await asyncio.to_thread(store.list_addresses, engine, account=account.name if account else None)
        return [_record(row) for row in rows]
    if account is None or http is None:
        raise InvalidAddressRequest("via", "listing at the provider needs an account (--via) and an HTTP client")
    found = await provider_for(account, http).list()
    return [AddressRecord(a.address, account.name, account.provider, a.provider_ref, a.created_at) for a in found]


def _checked(local_part: str | None, domain: str | None) -> tuple[str | None, str | None]:
    """Lower-cased, and refused unless plainly safe: these end up in provider URLs and bodies."""
    if local_part is not None:
        local_part = local_part.strip().lower()
        if not _LOCAL_PART.match(local_part) or ".." in local_part:
            raise InvalidAddressRequest(
                "local_part", f"local part {local_part!r}: use 1-64 of a-z 0-9 . _ + - (not first or last)"
            )
    if domain is not None:
        domain = domain.strip().rstrip(".").lower()
        if not _DOMAIN.match(domain):
            raise InvalidAddressRequest("domain", f"{domain!r} is not a domain name")
    return local_part or None, domain or None


def _record(row: store.ProvisionedAddressRow) -> AddressRecord:
    return AddressRecord(row.address, row.account, row.provider, row.provider_ref, row.created_at)
