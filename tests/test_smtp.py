"""SMTP ingress over real loopback SMTP (aiosmtplib client), real Redis and a migrated SQLite."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import aiosmtplib
import pytest
from aiosmtpd.smtp import Envelope
from aiosmtpd.smtp import Session as SmtpSession
from redis import Redis
from sqlmodel import Session, select

from service.ingest.ingestor import Ingestor
from service.settings import Settings
from service.smtp.config import SmtpConfig
from service.smtp.handler import MAX_RECIPIENTS, IngestHandler
from service.smtp.server import stop_ingestor
from service.store.blobs import BlobStore
from service.store.db import make_engine
from service.store.models import Message, MessageRaw
from tests.support.smtp import running_smtp

SMTP_YAML = """
smtp:
  domains: [in.example.com, Example.ORG]
  max_message_bytes: 2000000
"""
StartSmtp = Callable[..., Awaitable[int]]


def _messages(settings: Settings) -> list[Message]:
    with Session(make_engine(settings)) as session:
        return list(session.exec(select(Message).order_by(Message.id)))


def _queued(settings: Settings) -> list[bytes]:
    return cast(list[bytes], Redis.from_url(settings.redis_url).zrange(settings.queue_name, 0, -1))


async def _queued_soon(settings: Settings, count: int) -> list[bytes]:
    """The enqueuer flushes in the background after the 250; give it a moment."""
    for _ in range(100):
        if len(queued := _queued(settings)) >= count:
            return queued
        await asyncio.sleep(0.05)
    return _queued(settings)


def _mail(subject: str = "Your code is 482913", message_id: str = "<abc-1@sender.example.net>") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Acme Accounts <accounts@sender.example.net>"
    msg["To"] = "Signup <signup@in.example.com>"
    msg["Cc"] = "other@example.org"
    msg["Subject"] = subject
    msg["Date"] = "Tue, 03 Sep 2024 10:15:00 +0000"
    msg["Message-ID"] = message_id
    msg.set_content("Hello,\n\nyour sign-in code is 482913.\n")
    return msg.as_bytes().replace(b"\n", b"\r\n")


@pytest.fixture
async def start_smtp(settings: Settings, write_config: Callable[..., Path]) -> AsyncIterator[StartSmtp]:
    """Start ``serve_smtp`` in this loop with an ``smtp:`` section; stopped at teardown."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(smtp_yaml: str = SMTP_YAML, run_settings: Settings | None = None) -> int:
            write_config(extra=smtp_yaml)
            return await stack.enter_async_context(running_smtp(settings, run_settings))

        yield start


async def _send(port: int, raw: bytes, rcpts: list[str], sender: str = "bounce@sender.example.net", **kw: Any) -> Any:
    return await aiosmtplib.send(raw, sender=sender, recipients=rcpts, hostname="127.0.0.1", port=port, **kw)


async def test_accepted_recipient_is_stored_byte_for_byte_queued_and_processed(
    settings: Settings, start_smtp: StartSmtp, run_worker: Callable[..., Any]
) -> None:
    port = await start_smtp()
    raw = _mail()
    errors, reply = await _send(port, raw, ["signup@in.example.com", "Ops@EXAMPLE.org"])
    assert errors == {} and reply.startswith("2.0.0 OK stored as ")
    [message] = _messages(settings)
    assert reply.endswith(message.id)
    assert (message.provider, message.source) == ("smtp", "smtp")
    assert message.envelope_from == "bounce@sender.example.net"
    assert message.envelope_to == ["signup@in.example.com", "Ops@EXAMPLE.org"]
    assert (message.from_name, message.from_address) == ("Acme Accounts", "accounts@sender.example.net")
    assert message.to == [{"name": "Signup", "address": "signup@in.example.com"}]
    assert message.cc == [{"name": None, "address": "other@example.org"}]
    assert message.subject == "Your code is 482913" and message.message_id == "<abc-1@sender.example.net>"
    assert message.date is not None and message.date.isoformat().startswith("2024-09-03T10:15:00")
    assert message.defects == []
    assert message.raw_mime_sha256 and BlobStore(settings.blob_dir).read(message.raw_mime_sha256) == raw
    with Session(make_engine(settings)) as session:
        kept = session.get(MessageRaw, message.id)
    assert kept is not None and b'"rcpt_to": ["signup@in.example.com", "Ops@EXAMPLE.org"]' in kept.content()
    assert await _queued_soon(settings, 1) == [message.id.encode()]
    worker = await run_worker()
    assert worker.jobs_failed == 0 and _messages(settings)[0].status == "processed"


async def test_recipient_outside_domains_is_refused_550_and_nothing_stored(
    settings: Settings, start_smtp: StartSmtp
) -> None:
    port = await start_smtp()
    for rcpt in ["victim@gmail.com", "x@sub.in.example.com", "x@in.example.com.evil.net", "postmaster"]:
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
            await _send(port, _mail(), [rcpt])
        [error] = refused.value.recipients
        assert error.code == 550 and "5.7.1" in error.message
    assert _messages(settings) == [] and _queued(settings) == []


async def test_mixed_recipients_store_only_the_accepted_ones(settings: Settings, start_smtp: StartSmtp) -> None:
    port = await start_smtp()
    errors, _ = await _send(port, _mail(), ["victim@gmail.com", "signup@in.example.com"])
    assert errors["victim@gmail.com"].code == 550
    [message] = _messages(settings)
    assert message.envelope_to == ["signup@in.example.com"]


async def test_oversize_message_is_refused_552(settings: Settings, start_smtp: StartSmtp) -> None:
    port = await start_smtp(SMTP_YAML.replace("2000000", "10000"))
    big = _mail() + b"x" * 70 + b"\r\n"
    big += (b"y" * 998 + b"\r\n") * 20
    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await _send(port, big, ["signup@in.example.com"])
    assert refused.value.code == 552
    assert _messages(settings) == []


async def test_database_locked_answers_451_and_the_retry_is_stored(settings: Settings, start_smtp: StartSmtp) -> None:
    impatient = settings.model_copy(update={"database_busy_timeout_ms": 200})
    port = await start_smtp(run_settings=impatient)
    locker = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"), isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(aiosmtplib.SMTPResponseException) as deferred:
            await _send(port, _mail(), ["signup@in.example.com"])
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert deferred.value.code == 451 and "4.3.0" in deferred.value.message
    await _send(port, _mail(), ["signup@in.example.com"])
    assert len(_messages(settings)) == 1


async def test_duplicate_resend_is_stored_once(settings: Settings, start_smtp: StartSmtp) -> None:
    port = await start_smtp()
    _, first = await _send(port, _mail(), ["signup@in.example.com"])
    _, second = await _send(port, _mail(), ["signup@in.example.com"])
    assert first == second
    assert len(_messages(settings)) == 1 and len(await _queued_soon(settings, 1)) == 1


async def test_same_message_id_to_other_recipients_is_another_message(
    settings: Settings, start_smtp: StartSmtp
) -> None:
    port = await start_smtp()
    await _send(port, _mail(), ["signup@in.example.com"])
    await _send(port, _mail(), ["billing@in.example.com"])
    assert len(_messages(settings)) == 2


async def test_message_without_message_id_deduplicates_on_content(settings: Settings, start_smtp: StartSmtp) -> None:
    port = await start_smtp()
    raw = b"From: a@sender.example.net\r\nSubject: no id\r\n\r\nbody\r\n"
    await _send(port, raw, ["signup@in.example.com"])
    await _send(port, raw, ["signup@in.example.com"])
    await _send(port, raw.replace(b"body", b"other body"), ["signup@in.example.com"])
    assert len(_messages(settings)) == 2


HOSTILE = {
    "nul_bytes": b"From: a\x00b@sender.example.net\r\nSubject: hi\x00there\r\n\r\nbo\x00dy\r\n",
    "one_megabyte_header_line": b"Subject: " + b"A" * 1_000_000 + b"\r\nFrom: x@sender.example.net\r\n\r\nbody\r\n",
    "invalid_utf8": b"Subject: caf\xe9 \xff\xfe\r\nFrom: \xc3\xa9l\xe8ve <e@x.fr>\r\n\r\n\xff\xfe\x80\r\n",
    "no_headers_at_all": b"just some text, not a header\r\nand more\r\n",
    "broken_mime": b"Content-Type: multipart/mixed; boundary=\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@\r\n",
    "bad_encoded_words": b"Subject: =?x-unknown?q?abc?= =?utf-8?b?!!!?=\r\nFrom: =?utf-8?q?D,_J?= <j@x.org>\r\n\r\n",
}
HOSTILE["date_overflow_and_nested_comments"] = (
    b"Date: Mon, 1 Jan 99999999999999999999 00:00:00 +0000\r\nCc: " + b"(" * 5000 + b"cc@example.net\r\n\r\nx\r\n"
)
EXPECTED_DEFECT = {
    "date_overflow_and_nested_comments": "unparseable_date",
    "nul_bytes": "nul_in_headers",
    "invalid_utf8": "invalid_utf8_in_headers",
    "no_headers_at_all": "no_headers",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_mime_is_stored_raw_with_defects(name: str, settings: Settings, start_smtp: StartSmtp) -> None:
    port = await start_smtp()
    errors, _ = await _send(port, HOSTILE[name], ["signup@in.example.com"])
    assert errors == {}
    [message] = _messages(settings)
    assert message.raw_mime_sha256 and BlobStore(settings.blob_dir).read(message.raw_mime_sha256) == HOSTILE[name]
    if name in EXPECTED_DEFECT:
        assert EXPECTED_DEFECT[name] in message.defects
    assert all("\x00" not in value for _, value in message.headers)


async def test_parse_failure_still_stores_the_raw_bytes(
    settings: Settings, start_smtp: StartSmtp, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_: object) -> None:
        raise RecursionError("pathological nesting")

    monkeypatch.setattr("service.smtp.handler.build_email", explode)
    port = await start_smtp()
    await _send(port, _mail(), ["signup@in.example.com"])
    [message] = _messages(settings)
    assert message.defects == ["header_parse_error: RecursionError"]
    assert BlobStore(settings.blob_dir).read(message.raw_mime_sha256 or "") == _mail()


#: The aiosmtpd ``SMTP`` argument of handler hooks, which IngestHandler never reads.
NO_SERVER: Any = None


async def _handler_session(settings: Settings, **handler_options: float) -> tuple[Ingestor, IngestHandler, Envelope]:
    """The handler without a socket (for timing and limits the wire cannot control)."""
    ingestor = Ingestor(settings)
    await ingestor.start()
    handler = IngestHandler(ingestor, lambda: SmtpConfig(domains=["in.example.com"]), **handler_options)
    envelope = Envelope()
    envelope.mail_from = "a@sender.example.net"
    return ingestor, handler, envelope


async def test_header_parsing_is_time_bounded(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("service.smtp.handler.build_email", lambda *_: time.sleep(1.0))
    ingestor, handler, envelope = await _handler_session(settings, parse_timeout_s=0.1)
    session = SmtpSession(asyncio.get_running_loop())
    try:
        assert await handler.handle_RCPT(NO_SERVER, session, envelope, "x@in.example.com", []) == "250 2.1.5 OK"
        envelope.original_content = _mail()
        started = time.monotonic()
        reply = await handler.handle_DATA(NO_SERVER, session, envelope)
        assert reply.startswith("250 ") and time.monotonic() - started < 0.9
    finally:
        await stop_ingestor(ingestor)
    [message] = _messages(settings)
    assert message.defects == ["header_parse_timeout"]


async def test_more_than_100_recipients_are_deferred_452(settings: Settings) -> None:
    ingestor, handler, envelope = await _handler_session(settings)
    session = SmtpSession(asyncio.get_running_loop())
    try:
        replies = [
            await handler.handle_RCPT(NO_SERVER, session, envelope, f"u{i}@in.example.com", [])
            for i in range(MAX_RECIPIENTS + 1)
        ]
    finally:
        await stop_ingestor(ingestor)
    assert replies[-2].startswith("250") and replies[-1].startswith("452 4.5.3")
    assert len(envelope.rcpt_tos) == MAX_RECIPIENTS


@pytest.mark.parametrize("cap", ["max_connections", "max_connections_per_ip"])
async def test_sessions_over_the_cap_are_greeted_421_and_a_freed_slot_is_reused(
    cap: str, settings: Settings, start_smtp: StartSmtp
) -> None:
    port = await start_smtp(SMTP_YAML + f"  {cap}: 2\n")

    async def greeting() -> tuple[bytes, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return await asyncio.wait_for(reader.readline(), 5), writer

    first, second = await greeting(), await greeting()
    assert first[0].startswith(b"220") and second[0].startswith(b"220")
    refused, refused_writer = await greeting()
    assert refused.startswith(b"421 4.7.0"), refused
    refused_writer.close()
    first[1].close()
    await first[1].wait_closed()
    for _ in range(50):  # the server sees the close a moment later
        again, writer = await greeting()
        writer.close()
        if again.startswith(b"220"):
            break
        await asyncio.sleep(0.05)
    assert again.startswith(b"220"), again
    second[1].close()
    # A full session still works once there is room.
    response = await _send(port, _mail(), ["signup@in.example.com"])
    assert "OK stored as" in response[1]
    assert len(_messages(settings)) == 1
