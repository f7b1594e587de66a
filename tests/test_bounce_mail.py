"""Bounce mail through every ingest path: classified by the job, marked, recorded, routed.

Real HTTP (the app under uvicorn), real SMTP (``serve_smtp``), a real arq worker over Redis and
SQLite, a fake Slack; the DSNs are hand-written in the shapes MTAs send (Postfix DSN, qmail).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
from collections.abc import Callable, Iterator
from typing import Any

import aiosmtplib
import httpx
import pytest
from sqlmodel import Session, col, select

from service.settings import Settings
from service.store.blobs import BlobStore
from service.store.bounces import list_bounces
from service.store.db import make_engine
from service.store.models import Attachment, Message, PipelineRun, StepRun
from service.store.suppressions import active_suppressions
from tests.conftest import FIXTURES, IMPROVMX_SECRET, PROXIEDMAIL_SECRET
from tests.support.deliveries import SECRETS, SOURCES_YAML
from tests.support.servers import FakeSlack
from tests.support.smtp import running_smtp
from tests.support.smtp_relay import RelayHandler, smtp_relay
from workers import bouncemail

DSN = (FIXTURES / "mime/dsn.eml").read_bytes()
QMAIL = (FIXTURES / "mime/bounce_qmail.eml").read_bytes()
ORDINARY = (FIXTURES / "raw/otp.eml").read_bytes()
HARD_BOUNCE = {
    "kind": "hard",
    "reason": "user_unknown",
    "status": "5.1.1",
    "reply_code": None,
    "recipients": ["nobody@inbox.example"],
    "diagnostic": "user unknown",
    "reporting_mta": "mx.inbox.example",
    "original_message_id": None,
}


def config(slack_url: str, *, forward_port: int | None = None) -> str:
    """Every source, Slack on loopback, an SMTP section, and the README's hard-bounce alert route
    (plus a forwarding route when ``forward_port`` names a relay)."""
    lines = [
        "slack:",
        f"  webhook_url: {slack_url}",
        "outbound:",
        '  allow_hosts: ["127.0.0.1"]',
        "smtp:",
        "  domains: [in.example.com]",
        "pipelines:",
        "  alert:",
        "    - extract_otp",
        "    - step: slack",
        "      text: \"hard bounce: {{ message.bounce.recipients | join(', ') }} {{ message.bounce.status }}\"",
        "routes:",
        "  - name: hard-bounces",
        "    when: {field: bounce.kind, op: is, value: hard}",
        "    pipeline: alert",
    ]
    if forward_port is not None:
        relay = f"{{host: 127.0.0.1, port: {forward_port}, security: none, to: [oncall@team.example], "
        relay += "from: mailhook@relay.example}"
        lines[7:7] = ["  forward:", f"    - forward_smtp: {relay}"]
        lines += ["  - name: forwards", "    when: {field: recipient, op: ends_with, value: '@in.example.com'}"]
        lines += ["    pipeline: forward"]
    return SOURCES_YAML + "\n".join(lines) + "\n"


def _messages(settings: Settings) -> dict[str, Message]:
    with Session(make_engine(settings)) as session:
        return {row.subject or "": row for row in session.exec(select(Message))}


def _step_outputs(settings: Settings, message_id: str) -> dict[str, Any]:
    with Session(make_engine(settings)) as session:
        stmt = (
            select(StepRun)
            .join(PipelineRun, col(PipelineRun.id) == col(StepRun.pipeline_run_id))
            .where(col(PipelineRun.message_id) == message_id)
        )
        return {step.name: step.output for step in session.exec(stmt)}


async def _post_raw(client: httpx.AsyncClient, raw: bytes, to: str) -> str:
    response = await client.post(
        f"/hooks/raw/{SECRETS['raw']}?to={to}", content=raw, headers={"content-type": "message/rfc822"}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["messages"][0]["id"])


@pytest.fixture
def slack_config(settings: Settings, fake_slack: tuple[FakeSlack, str]) -> FakeSlack:
    slack, url = fake_slack
    settings.config.write_text(config(url))
    return slack


async def test_a_dsn_posted_raw_is_marked_recorded_suppressed_and_alerts_slack(
    settings: Settings, slack_config: FakeSlack, client: httpx.AsyncClient, run_worker: Callable[..., Any]
) -> None:
    dsn_id = await _post_raw(client, DSN, "accounts@acme.example")
    await _post_raw(client, ORDINARY, "login@in.example.net")
    worker = await run_worker()
    assert worker.jobs_failed == 0
    messages = _messages(settings)
    dsn, ordinary = messages["Undelivered Mail Returned to Sender"], messages["Your one-time code – 593812"]
    assert (dsn.status, dsn.bounce, dsn.defects) == ("processed", HARD_BOUNCE, [])
    assert (ordinary.status, ordinary.bounce) == ("unrouted", None), "ordinary mail does not match bounce.kind"
    [post] = slack_config.posts
    assert post["text"] == "hard bounce: nobody@inbox.example 5.1.1"
    [event] = list_bounces(make_engine(settings))
    assert (event.recipient, event.kind, event.reason, event.status) == (
        "nobody@inbox.example",
        "hard",
        "user_unknown",
        "5.1.1",
    )
    assert (event.message_id, event.source, event.provider, event.reporting_mta) == (
        dsn_id,
        "raw",
        "mail",
        "mx.inbox.example",
    )
    assert set(active_suppressions(make_engine(settings), ["nobody@inbox.example"])) == {"nobody@inbox.example"}


async def test_a_bounce_through_smtp_alerts_slack_and_its_quoted_code_is_not_extracted(
    settings: Settings, slack_config: FakeSlack, run_worker: Callable[..., Any]
) -> None:
    async with running_smtp(settings) as port, aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as smtp:
        for raw in (QMAIL, ORDINARY):
            crlf = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            await smtp.sendmail("", ["accounts@in.example.com"], crlf)  # bounces have a null sender
        await asyncio.sleep(0.2)  # the enqueuer flushes after the 250
    await run_worker()
    messages = _messages(settings)
    bounce, ordinary = messages["failure notice"], messages["Your one-time code – 593812"]
    assert bounce.status == "processed" and bounce.bounce is not None
    assert (bounce.bounce["kind"], bounce.bounce["status"], bounce.bounce["reply_code"]) == ("hard", "5.1.1", 550)
    assert bounce.bounce["original_message_id"] == "<otp-7@acme.example>"
    assert _step_outputs(settings, bounce.id)["extract_otp"] == {"code": None}, "048213 is the original's code"
    assert [post["text"] for post in slack_config.posts] == ["hard bounce: nobody@inbox.example 5.1.1"]
    assert ordinary.status == "unrouted" and ordinary.bounce is None
    [event] = list_bounces(make_engine(settings))
    assert (event.source, event.message_id, event.reply_code) == ("smtp", bounce.id, 550)


@pytest.fixture
def relay_config(settings: Settings, fake_slack: tuple[FakeSlack, str]) -> Iterator[tuple[FakeSlack, RelayHandler]]:
    """A relay for ``forward_smtp`` and the config naming it, written before the app starts."""
    slack, url = fake_slack
    with smtp_relay() as (relay, port):
        settings.config.write_text(config(url, forward_port=port))
        yield slack, relay


async def test_a_bounce_of_our_forward_links_it_and_the_next_forward_skips_the_address(
    settings: Settings,
    relay_config: tuple[FakeSlack, RelayHandler],
    client: httpx.AsyncClient,
    run_worker: Callable[..., Any],
) -> None:
    slack, relay = relay_config
    first = await _post_raw(client, ORDINARY, "qa@in.example.com")
    await run_worker()
    [forwarded] = relay.received
    bounce_id = await _post_raw(
        client, _dsn_returning(forwarded.content, "oncall@team.example"), "mailhook@relay.example"
    )
    await run_worker()
    second = await _post_raw(client, ORDINARY.replace(b"9f2c.otp", b"9f2d.otp"), "qa@in.example.com")
    await run_worker()
    assert len(relay.received) == 1, "the suppressed target gets no second forward"
    [event] = list_bounces(make_engine(settings))
    assert (event.recipient, event.message_id, event.forwarded_message_id) == ("oncall@team.example", bounce_id, first)
    assert [post["text"] for post in slack.posts] == ["hard bounce: oncall@team.example 5.1.1"]
    output = _step_outputs(settings, second)["forward_smtp"]
    assert output["sent"] is False and [s["address"] for s in output["suppressed"]] == ["oncall@team.example"]


def _dsn_returning(original: bytes, recipient: str) -> bytes:
    """A Postfix-shaped DSN returning the headers of ``original`` (our forward, Resent-* on top)."""
    headers = original.split(b"\r\n\r\n", 1)[0]
    assert email.message_from_bytes(headers, policy=email.policy.compat32)["Resent-Message-ID"]
    return (
        b"From: MAILER-DAEMON@mx.team.example (Mail Delivery System)\r\n"
        b"To: mailhook@relay.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        b"Message-ID: <dsn-9@mx.team.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host mx.team.example.\r\n\r\n"
        b"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.team.example\r\n\r\n"
        b"Final-Recipient: rfc822; " + recipient.encode() + b"\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
        b"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n" + headers + b"\r\n\r\n--b1--\r\n"
    )


async def test_provider_deliveries_without_raw_mime_are_classified_from_their_fields(
    settings: Settings, slack_config: FakeSlack, client: httpx.AsyncClient, run_worker: Callable[..., Any]
) -> None:
    improvmx = await client.post(
        f"/hooks/improvmx/{IMPROVMX_SECRET}", content=(FIXTURES / "improvmx/dsn.json").read_bytes()
    )
    proxiedmail = await client.post(f"/hooks/proxiedmail/{PROXIEDMAIL_SECRET}", content=_proxiedmail_bounce())
    assert improvmx.status_code == proxiedmail.status_code == 200
    await run_worker()
    messages = _messages(settings)
    from_report = messages["Undelivered Mail Returned to Sender"].bounce
    assert from_report is not None and from_report["reporting_mta"] == "mx.inbox.example"
    assert (from_report["kind"], from_report["status"], from_report["reply_code"]) == ("hard", "5.1.1", 550)
    assert from_report["original_message_id"] == "<otp-8@acme.example>"
    from_text = messages["Delivery Status Notification (Failure)"].bounce
    assert from_text is not None and (from_text["kind"], from_text["recipients"]) == ("hard", ["ghost@gmail.example"])
    assert sorted(post["text"].split(":")[1].split()[0] for post in slack_config.posts) == [
        "ghost@gmail.example",
        "nobody@inbox.example",
    ]
    assert {event.recipient for event in list_bounces(make_engine(settings))} == {
        "ghost@gmail.example",
        "nobody@inbox.example",
    }


def _proxiedmail_bounce() -> bytes:
    """ProxiedMail keeps no raw MIME: only the notice text of a Gmail-style bounce."""
    body = (FIXTURES / "proxiedmail/otp.json").read_text()
    notice = (
        "** Address not found **\\r\\n\\r\\nYour message wasn't delivered to ghost@gmail.example because the "
        "address couldn't be found, or is unable to receive mail.\\r\\n\\r\\nThe response from the remote server "
        "was:\\r\\n550 5.1.1 The email account that you tried to reach does not exist.\\r\\n"
    )
    for old, new in [
        ("Acme Accounts <accounts@example.org>", "Mail Delivery Subsystem <mailer-daemon@googlemail.example>"),
        ("Your Acme sign-in code", "Delivery Status Notification (Failure)"),
        ("Hi,\\r\\n\\r\\nYour verification code is 048213.\\r\\n\\r\\nIt expires in 10 minutes.\\r\\n", notice),
    ]:
        assert old in body
        body = body.replace(old, new)
    return body.replace('"body-html": ', '"body-html-unused": ').encode()


async def test_an_unreadable_report_is_a_defect_and_the_message_is_processed(
    settings: Settings, slack_config: FakeSlack, client: httpx.AsyncClient, run_worker: Callable[..., Any]
) -> None:
    response = await client.post(
        f"/hooks/improvmx/{IMPROVMX_SECRET}", content=(FIXTURES / "improvmx/dsn.json").read_bytes()
    )
    assert response.status_code == 200
    with Session(make_engine(settings)) as session:
        report = session.exec(select(Attachment).where(col(Attachment.content_type) == "message/delivery-status")).one()
    BlobStore(settings.blob_dir).path(report.sha256).unlink()
    worker = await run_worker()
    [message] = _messages(settings).values()
    assert worker.jobs_failed == 0 and message.status == "unrouted" and message.bounce is None
    assert message.defects == ["bounce classifier failed: FileNotFoundError"]
    assert list_bounces(make_engine(settings)) == [] and slack_config.posts == []


async def test_a_classifier_that_overruns_its_time_is_a_defect_and_the_message_is_processed(
    settings: Settings,
    slack_config: FakeSlack,
    client: httpx.AsyncClient,
    run_worker: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def stuck(raw: bytes) -> tuple[None, list[str]]:
        time.sleep(0.5)
        return None, []

    monkeypatch.setattr(bouncemail, "classify_with_defects", stuck)
    monkeypatch.setattr(bouncemail, "CLASSIFY_TIMEOUT_S", 0.05)
    large = DSN + b"\n" + b"padding line\n" * 8000  # over INLINE_CLASSIFY_BYTES: classified in a thread
    await _post_raw(client, large, "accounts@acme.example")
    worker = await run_worker()
    [message] = _messages(settings).values()
    assert worker.jobs_failed == 0 and message.status == "unrouted"
    assert message.bounce is None and "bounce_classify_timeout" in message.defects


async def test_large_ordinary_mail_is_turned_away_on_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_thread(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the pre-check answers without a thread")

    large = ORDINARY + b"\n" + b"padding line\n" * 8000
    assert len(large) > bouncemail.INLINE_CLASSIFY_BYTES
    monkeypatch.setattr("workers.bouncemail.asyncio.to_thread", no_thread)
    assert await bouncemail.find_bounce(large) == bouncemail.BounceFinding()
