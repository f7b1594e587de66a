"""STARTTLS with a self-signed certificate and AUTH PLAIN/LOGIN, over real loopback SMTP."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiosmtplib
import pytest
from sqlmodel import Session, select

from service.settings import Settings
from service.store.db import make_engine
from service.store.models import Message, MessageRaw
from tests.support.smtp import running_smtp, self_signed_cert

PASSWORD = "smtp-password-0123456789"
MAIL = b"From: a@sender.example.net\r\nSubject: over TLS\r\nMessage-ID: <tls-1@sender.example.net>\r\n\r\nhi\r\n"


def _messages(settings: Settings) -> list[Message]:
    with Session(make_engine(settings)) as session:
        return list(session.exec(select(Message)))


@pytest.fixture
async def tls_server(
    settings: Settings, write_config: Callable[..., Path], tmp_path: Path
) -> AsyncIterator[tuple[int, ssl.SSLContext]]:
    """An SMTP server requiring STARTTLS and AUTH; yields its port and a client context trusting it."""
    cert, key = self_signed_cert(tmp_path)
    write_config(extra=_tls_yaml(cert, key))
    async with running_smtp(settings) as port:
        yield port, ssl.create_default_context(cafile=str(cert))


def _tls_yaml(cert: Path, key: Path, *, require_tls: bool = True) -> str:
    return f"""
smtp:
  domains: [in.example.com]
  tls_cert: {cert}
  tls_key: {key}
  require_tls: {str(require_tls).lower()}
  auth_users:
    - username: relay
      password: {PASSWORD}
"""


Server = tuple[int, ssl.SSLContext]


def _client(server: Server) -> aiosmtplib.SMTP:
    port, trust = server
    return aiosmtplib.SMTP(hostname="localhost", port=port, tls_context=trust, start_tls=True)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
async def test_starttls_then_auth_succeeds_and_is_recorded(
    settings: Settings, tls_server: Server, mechanism: str
) -> None:
    async with _client(tls_server) as client:
        assert client.get_transport_info("sslcontext") is not None
        await client.ehlo()
        login = client.auth_plain if mechanism == "PLAIN" else client.auth_login
        response = await login("relay", PASSWORD)
        assert response.code == 235
        await client.sendmail("bounce@sender.example.net", ["signup@in.example.com"], MAIL)
    [message] = _messages(settings)
    with Session(make_engine(settings)) as session:
        kept = session.get(MessageRaw, message.id)
    assert kept is not None and b'"tls": true' in kept.content() and b'"auth_user": "relay"' in kept.content()


async def test_wrong_password_is_535_and_mail_without_auth_is_530(settings: Settings, tls_server: Server) -> None:
    async with _client(tls_server) as client:
        with pytest.raises(aiosmtplib.SMTPAuthenticationError) as failed:
            await client.login("relay", "wrong-password-0123456789")
        assert failed.value.code == 535
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
            await client.sendmail("bounce@sender.example.net", ["signup@in.example.com"], MAIL)
        assert refused.value.code == 530
    assert _messages(settings) == []


async def test_unknown_user_is_535(tls_server: Server) -> None:
    async with _client(tls_server) as client:
        with pytest.raises(aiosmtplib.SMTPAuthenticationError) as failed:
            await client.login("nobody", PASSWORD)
        assert failed.value.code == 535


async def test_require_tls_refuses_plaintext_mail(settings: Settings, tls_server: Server) -> None:
    port, _ = tls_server
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as client:
        with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
            await client.sendmail("bounce@sender.example.net", ["signup@in.example.com"], MAIL)
        assert refused.value.code == 530
        assert "STARTTLS" in refused.value.message
    assert _messages(settings) == []


async def test_auth_is_not_offered_before_starttls(tls_server: Server) -> None:
    port, _ = tls_server
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as client:
        await client.ehlo()
        assert "starttls" in client.esmtp_extensions and "auth" not in client.esmtp_extensions
