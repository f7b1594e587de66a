"""addy.io forwarding recovery (../shared/providers.md §4.2): unit tests on messages shaped like
``app/Mail/ForwardEmail.php`` output, plus one delivery over real SMTP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
from sqlmodel import Session, select

from service.cli.embedded_redis import free_port
from service.config import ConfigHolder
from service.mail.inbound import Address, InboundEmail
from service.mime.headers import mime_headers_and_defects
from service.settings import Settings
from service.smtp import addy
from service.smtp.config import SmtpConfig
from service.smtp.message import SmtpEnvelope, build_email
from service.smtp.server import serve_smtp
from service.store.db import make_engine
from service.store.models import Message

ALIAS = "shop@anonaddy.me"
REPLY = "shop+john.doe=example.com@anonaddy.me"
REAL_RCPT = "me@in.example.com"
CONFIG = SmtpConfig(domains=["in.example.com"])
BANNER = (
    f'This email was sent to {ALIAS} (Online shopping) from john.doe@example.com with subject "Your order" '
    "and has been forwarded by addy.io. Deactivate this alias: https://app.addy.io/deactivate/9f1c"
)


def forwarded(
    *,
    from_: str = f'"John Doe" <{REPLY}>',
    reply_to: str | None = None,
    to: str = f"{ALIAS}, friend+friend=example.org@anonaddy.me",
    banner: str | None = BANNER,
    extra: dict[str, str] | None = None,
    html_alias: str | None = None,
) -> bytes:
    """A forwarded copy as addy.io sends it in its default (reply address in From) mode."""
    msg = EmailMessage()
    msg["Received"] = "from mail.example.com (mail.example.com [203.0.113.7]) by mail.anonaddy.me"
    msg["From"] = from_
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["To"] = to
    msg["Subject"] = "Your order"
    msg["Date"] = "Wed, 04 Sep 2024 08:00:00 +0000"
    msg["Message-ID"] = "<order-77@mail.example.com>"
    msg["Feedback-ID"] = "F:7b1c9e2a:anonaddy"
    msg["List-Unsubscribe"] = "<https://app.addy.io/api/auth/deactivate/7b1c9e2a?signature=abc>"
    for name, value in (extra or {}).items():
        msg[name] = value
    body = "Thanks for your order.\n"
    msg.set_content((banner + "\n\n" if banner else "") + body, cte="quoted-printable")
    if html_alias:
        link = f'<a href="mailto:{html_alias}">{html_alias}</a>'
        msg.add_alternative(f"<!--banner-info--><p>This email was sent to {link} from john.doe@example.com</p>", "html")
    return msg.as_bytes().replace(b"\n", b"\r\n")


FULL_HEADERS = {
    "X-AnonAddy-Authentication-Results": "spf=pass dkim=pass dmarc=pass",
    "X-AnonAddy-Original-Sender": "john.doe@example.com",
    "X-AnonAddy-Original-Envelope-From": "<bounces+77@mail.example.com>",
    "X-AnonAddy-Original-From-Header": '"John Doe" <john.doe@example.com>',
    "X-AnonAddy-Original-To": f"{ALIAS}, friend@example.org",
}


def _build(raw: bytes, config: SmtpConfig = CONFIG, rcpts: tuple[str, ...] = (REAL_RCPT,)) -> InboundEmail:
    return build_email(raw, SmtpEnvelope("bounce-7b1c@anonaddy.me", list(rcpts)), config)


def test_full_headers_recover_sender_alias_and_original_recipients() -> None:
    email = _build(forwarded(extra=FULL_HEADERS))
    assert email.envelope_from == "bounces+77@mail.example.com"
    assert email.header_from == Address("John Doe", "john.doe@example.com")
    assert email.envelope_to == [ALIAS, REAL_RCPT]
    assert [a.address for a in email.to] == [ALIAS, "friend@example.org"]
    assert email.auth["forwarded_by"] == "addy.io"
    assert email.auth["forwarder_envelope_from"] == "bounce-7b1c@anonaddy.me"
    assert email.auth["forwarder_from"] == REPLY
    assert email.auth["addy_alias"] == ALIAS
    assert email.auth["addy_authentication_results"] == "spf=pass dkim=pass dmarc=pass"
    assert email.auth["addy_feedback_id"] == "F:7b1c9e2a:anonaddy"


def test_banner_alias_with_extension_wins_over_reply_address() -> None:
    raw = forwarded(banner=BANNER.replace(ALIAS, "shop+summer@anonaddy.me"), to=REPLY)
    headers, _ = mime_headers_and_defects(raw)
    forward = addy.recover(headers, addy.body_texts(raw))
    assert forward.alias == "shop+summer@anonaddy.me"
    assert forward.sender == "john.doe@example.com"


def test_html_only_banner_is_read_through_markup() -> None:
    raw = forwarded(banner=None, html_alias="shop+web@anonaddy.me", to="friend+friend=example.org@anonaddy.me")
    headers, _ = mime_headers_and_defects(raw)
    assert addy.recover(headers, addy.body_texts(raw)).alias == "shop+web@anonaddy.me"


def test_without_banner_the_alias_kept_in_to_is_used() -> None:
    raw = forwarded(banner=None, to="friend+friend=example.org@anonaddy.me, shop+deals@anonaddy.me")
    headers, _ = mime_headers_and_defects(raw)
    forward = addy.recover(headers, addy.body_texts(raw))
    assert forward.alias == "shop+deals@anonaddy.me"
    assert forward.sender == "john.doe@example.com"  # decoded from the reply address
    assert forward.to is None  # no X-AnonAddy-Original-To: To stays as received


def test_bcc_copy_without_banner_falls_back_to_the_reply_address() -> None:
    raw = forwarded(banner=None, to="friend+friend=example.org@anonaddy.me")
    headers, _ = mime_headers_and_defects(raw)
    forward = addy.recover(headers, addy.body_texts(raw))
    assert (forward.alias, forward.sender) == (ALIAS, "john.doe@example.com")


def test_legacy_reply_to_mode_reads_the_reply_address_from_reply_to() -> None:
    raw = forwarded(from_=ALIAS, reply_to=REPLY, banner=None, to="someone@elsewhere.example")
    headers, _ = mime_headers_and_defects(raw)
    forward = addy.recover(headers, [])
    assert (forward.alias, forward.sender) == (ALIAS, "john.doe@example.com")


def test_unverified_domain_mode_system_from_and_reply_to() -> None:
    extra = {"X-AnonAddy-Original-Sender": "john.doe@example.com"}
    raw = forwarded(from_="addy.io <mailer@addy.io>", reply_to=REPLY, banner=None, to=ALIAS, extra=extra)
    email = _build(raw)
    assert email.header_from == Address(None, "john.doe@example.com")
    assert email.envelope_to == [ALIAS, REAL_RCPT]
    assert email.auth["forwarder_from"] == "mailer@addy.io"


def test_sender_with_equals_sign_in_local_part_decodes_at_the_last_equals() -> None:
    headers, _ = mime_headers_and_defects(forwarded(from_="shop+a=b=example.com@anonaddy.me", banner=None))
    assert addy.recover(headers, []).sender == "a=b@example.com"


def test_plain_mail_is_not_treated_as_addy() -> None:
    msg = b"From: Shop <shop+tag=x@example.com>\r\nTo: me@in.example.com\r\nSubject: hi\r\n\r\nbody\r\n"
    headers, _ = mime_headers_and_defects(msg)
    assert addy.is_addy(headers) is False
    email = _build(msg)
    assert email.envelope_to == [REAL_RCPT] and "forwarded_by" not in email.auth


def test_recovery_can_be_switched_off() -> None:
    config = SmtpConfig(domains=["in.example.com"], addy_recovery=False)
    email = _build(forwarded(extra=FULL_HEADERS), config)
    assert email.header_from == Address("John Doe", REPLY)
    assert email.envelope_to == [REAL_RCPT]


def test_one_original_to_two_aliases_is_two_messages_but_a_resend_is_one() -> None:
    first = _build(forwarded())
    again = _build(forwarded())
    other_alias = _build(forwarded(banner=BANNER.replace(ALIAS, "news@anonaddy.me"), to="news@anonaddy.me"))
    assert first.idempotency_key == again.idempotency_key
    assert first.idempotency_key != other_alias.idempotency_key


def test_unreadable_body_still_recovers_from_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    def choke(raw: bytes) -> list[str]:
        raise RecursionError("deeply nested multipart")

    monkeypatch.setattr(addy, "body_texts", choke)
    email = _build(forwarded(extra=FULL_HEADERS))
    assert email.header_from == Address("John Doe", "john.doe@example.com")
    assert email.envelope_to == [ALIAS, REAL_RCPT]  # from the To header the alias is kept in
    assert email.defects == ["addy_banner_unreadable: RecursionError"]


async def test_addy_forward_over_smtp_is_stored_with_the_true_sender(
    settings: Settings, write_config: Callable[..., Path]
) -> None:
    write_config(extra="smtp:\n  domains: [in.example.com]\n")
    port, ready = free_port(), asyncio.Event()
    task = asyncio.create_task(
        serve_smtp(settings, "127.0.0.1", port, config_holder=ConfigHolder.load(settings.config), ready=ready)
    )
    try:
        await asyncio.wait_for(ready.wait(), 10)
        await aiosmtplib.send(
            forwarded(extra=FULL_HEADERS),
            sender="bounce-7b1c@anonaddy.me",
            recipients=[REAL_RCPT],
            hostname="127.0.0.1",
            port=port,
        )
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    with Session(make_engine(settings)) as session:
        [message] = session.exec(select(Message)).all()
    assert (message.from_name, message.from_address) == ("John Doe", "john.doe@example.com")
    assert message.envelope_from == "bounces+77@mail.example.com"
    assert message.envelope_to == [ALIAS, REAL_RCPT]
    assert message.auth["forwarded_by"] == "addy.io" and message.auth["forwarder_from"] == REPLY
