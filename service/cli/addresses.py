"""``mailhook addresses create|delete|list``: registered on the main group with ``cli.add_command``.

Each command loads the config, opens the database and an HTTP client, and runs one function of
``service.addresses.service``. Failures are one line on stderr and a non-zero exit (1: the
provider or the request, 2: the config or the database), never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import click
import httpx
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from service.addresses.base import AddressError
from service.addresses.service import AddressRecord, create_address, delete_address, list_addresses
from service.config import AppConfig, ConfigError, load_config
from service.providers import PROVIDERS
from service.runtime.logs import first_line
from service.settings import Settings
from service.store.db import make_engine

T = TypeVar("T")
Action = Callable[[AppConfig, Engine, httpx.AsyncClient], Awaitable[T]]


def _run(ctx: click.Context, action: Action[T]) -> T:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    # The command's output is its answer; httpx would add an INFO line per request to stderr.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        config = load_config(settings.config, providers=PROVIDERS)
    except ConfigError as exc:
        _fail(f"configuration error: {exc}", 2)
    engine = make_engine(settings)
    try:
        return asyncio.run(_with_client(action, config, engine))
    except AddressError as exc:
        _fail(f"error: {exc}", 1)
    except SQLAlchemyError as exc:
        _fail(f"database error: {first_line(exc)} (has `mailhook migrate` been run?)", 2)
    finally:
        engine.dispose()


async def _with_client(action: Action[T], config: AppConfig, engine: Engine) -> T:
    async with httpx.AsyncClient() as http:
        return await action(config, engine, http)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def _echo(records: list[AddressRecord], as_json: bool) -> None:
    for record in records:
        if as_json:
            click.echo(json.dumps(record.as_dict()))
        else:
            created = record.created_at.strftime("%Y-%m-%d %H:%M") if record.created_at else "-"
            click.echo(f"{record.address}  {record.via:<14}  {created}  {record.provider_ref}")


@click.group()
def addresses() -> None:
    """Make, remove and list addresses at forwarding providers that deliver to this Mailhook.

    Accounts (provider, API key, domain, and where the provider must deliver) are listed under
    `addresses:` in the config file; --via names one (or a provider only one account uses).
    """


@addresses.command()
@click.option("--via", required=True, help="Account name from `addresses:` (or its provider's name).")
@click.option("--local-part", help="The part before @ (default: chosen by Mailhook or the provider).")
@click.option("--domain", help="Domain of the new address (default: the account's domain).")
@click.option("--json", "as_json", is_flag=True, help="Print the address as a JSON object.")
@click.pass_context
def create(ctx: click.Context, via: str, local_part: str | None, domain: str | None, as_json: bool) -> None:
    """Make a new address at the provider; prints it."""
    record = _run(ctx, lambda c, e, h: create_address(c, e, h, via=via, local_part=local_part, domain=domain))
    click.echo(json.dumps(record.as_dict()) if as_json else record.address)


@addresses.command()
@click.argument("address")
@click.option("--via", help="Account to look in, for an address this Mailhook did not make.")
@click.pass_context
def delete(ctx: click.Context, address: str, via: str | None) -> None:
    """Remove ADDRESS at its provider and forget it here."""
    record = _run(ctx, lambda c, e, h: delete_address(c, e, h, address, via=via))
    click.echo(f"deleted {record.address} (via {record.via})")


@addresses.command("list")
@click.option("--via", help="Only this account's addresses.")
@click.option("--remote", is_flag=True, help="Ask the provider (needs --via) instead of this Mailhook's record.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def list_command(ctx: click.Context, via: str | None, remote: bool, as_json: bool) -> None:
    """List addresses made here, newest first (with --remote: what the provider delivers here)."""
    if remote and via is None:
        _fail("error: --remote needs --via ACCOUNT", 1)
    records = _run(ctx, lambda c, e, h: list_addresses(c, e, h, via=via, remote=remote))
    _echo(records, as_json)
    if not records and not as_json:
        click.echo("no addresses")
