"""The ``smtp:`` config section, the ``smtp`` click command, and ``run_smtp`` as a real process."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiosmtplib
import click
import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from service.cli.embedded_redis import free_port, port_open
from service.cli.smtp import smtp
from service.config import ConfigError, parse_config
from service.settings import Settings
from service.store.db import make_engine
from service.store.models import Message
from tests.support.processes import mailhook_env
from tests.support.smtp import running_smtp

PASSWORD = "0123456789abcdef-pw"


def _problems(yaml_text: str) -> str:
    with pytest.raises(ConfigError) as error:
        parse_config(yaml_text)
    return str(error.value)


def test_domains_are_normalised_and_matched_exactly() -> None:
    config = parse_config("smtp:\n  domains: [Mail.Example.COM., bücher.example]\n").smtp
    assert config is not None
    assert config.domains == ["mail.example.com", "xn--bcher-kva.example"]
    assert config.accepts_domain("MAIL.example.com") and config.accepts_domain("bücher.example")
    assert not config.accepts_domain("sub.mail.example.com") and not config.accepts_domain("example.com")
    assert (config.source, config.max_message_bytes, config.requires_auth) == ("smtp", 50 * 1024 * 1024, False)


def test_no_smtp_section_means_none() -> None:
    assert parse_config("sources: []\n").smtp is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("domains: []", "smtp.domains: List should have at least 1 item"),
        ("domains: [user@example.com]", "not a domain name: user@example.com"),
        ("domains: [a.example]\n  relay: true", "smtp.relay: Extra inputs are not permitted"),
        ("domains: [a.example]\n  tls_cert: /x.crt", "tls_cert and tls_key must be given together"),
        ("domains: [a.example]\n  require_tls: true", "require_tls needs tls_cert and tls_key"),
        ("domains: [a.example]\n  auth_required: true", "auth_users is empty: nobody could send"),
        ("domains: [a.example]\n  source: Not Valid", "smtp.source: Value error, must be lower-case"),
        (f"domains: [a.example]\n  auth_users: [{{username: u, password: {PASSWORD}}}]", "passwords in clear"),
        ("domains: [a.example]\n  auth_require_tls: false\n  auth_users: [{username: u, password: short}]", "16"),
    ],
)
def test_invalid_smtp_sections_name_the_problem(body: str, message: str) -> None:
    assert message in _problems(f"smtp:\n  {body}\n")


def test_auth_required_defaults_to_having_users() -> None:
    users = f"[{{username: u, password: {PASSWORD}}}]"
    text = f"smtp:\n  domains: [a.example]\n  auth_require_tls: false\n  auth_users: {users}"
    config = parse_config(text).smtp
    assert config is not None and config.requires_auth is True
    assert "0123456789" not in repr(config)


def _root(settings: Settings) -> click.Group:
    """A stand-in for ``service.cli.cli``: the command reads Settings from the root context."""

    @click.group()
    @click.pass_context
    def root(ctx: click.Context) -> None:
        ctx.obj = settings

    root.add_command(smtp)
    return root


def test_smtp_command_help_names_host_and_port(settings: Settings) -> None:
    result = CliRunner().invoke(_root(settings), ["smtp", "--help"])
    assert result.exit_code == 0 and "--host" in result.output and "2525" in result.output


def test_smtp_command_without_smtp_section_is_a_config_error(
    settings: Settings, write_config: Callable[..., Path]
) -> None:
    write_config()
    result = CliRunner().invoke(_root(settings), ["smtp", "--port", str(free_port())])
    assert isinstance(result.exception, ConfigError) and "no `smtp:` section" in str(result.exception)


async def test_run_smtp_process_stores_mail_and_stops_on_sigterm(
    settings: Settings, write_config: Callable[..., Path]
) -> None:
    write_config(extra="smtp:\n  domains: [in.example.com]\n")
    port = free_port()
    code = (
        "from service.settings import Settings; from service.smtp.server import run_smtp; "
        f"run_smtp(Settings(), host='127.0.0.1', port={port})"
    )
    process = subprocess.Popen([sys.executable, "-c", code], env=mailhook_env(settings), stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", port) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        raw = b"From: a@sender.example\r\nSubject: over a real process\r\n\r\nhi\r\n"
        await aiosmtplib.send(raw, sender="a@sender.example", recipients=["x@in.example.com"], port=port)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr.decode()
    with Session(make_engine(settings)) as session:
        assert [m.subject for m in session.exec(select(Message))] == ["over a real process"]


async def test_unreadable_certificate_is_a_config_error_at_start(
    settings: Settings, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    missing = tmp_path / "missing.pem"
    write_config(extra=f"smtp:\n  domains: [in.example.com]\n  tls_cert: {missing}\n  tls_key: {missing}\n")
    with pytest.raises(ConfigError, match="smtp.tls_cert/tls_key: cannot load"):
        async with running_smtp(settings):
            pass
