"""``forward_smtp``: original bytes plus ``Resent-*`` through a real relay; SMTP codes steer retries."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from service.cli.embedded_redis import free_port
from service.settings import Settings
from service.store.suppressions import add_suppression
from tests.support.smtp_relay import RelayHandler, smtp_relay
from tests.support.steps import mime_fixture, pdf_attachment, step_context, store_email, store_mime, worker_deps
from workers.deps import WorkerDeps
from workers.steps.base import PermanentStepError, RetryableStepError
from workers.steps.forward_smtp import ForwardSmtp, ForwardSmtpParams

TO = ["oncall@team.example", "archive@team.example"]


@pytest.fixture
def relay() -> Iterator[tuple[RelayHandler, int]]:
    with smtp_relay() as running:
        yield running


@pytest.fixture
async def deps(settings: Settings, write_config: Callable[..., Path]) -> AsyncIterator[WorkerDeps]:
    write_config()
    async with worker_deps(settings) as built:
        yield built


def forward(port: int, **params: Any) -> ForwardSmtp:
    values = {"host": "127.0.0.1", "port": port, "security": "none", "to": TO, "from": "mailhook@relay.example"}
    return ForwardSmtp(ForwardSmtpParams.model_validate({**values, **params}))


def _unfold_resent(content: bytes) -> tuple[dict[str, str], bytes]:
    """Split the leading Resent-* block from the rest of the message bytes."""
    lines = content.split(b"\r\n")
    block: list[str] = []
    while lines and (lines[0].startswith(b"Resent-") or lines[0].startswith(b" ")):
        line = lines.pop(0).decode()
        if line.startswith(" "):
            block[-1] += line
        else:
            block.append(line)
    return dict(entry.split(": ", 1) for entry in block), b"\r\n".join(lines)


async def test_forward_smtp_sends_original_bytes_under_a_resent_block(
    deps: WorkerDeps, relay: tuple[RelayHandler, int]
) -> None:
    handler, port = relay
    raw = mime_fixture("reply.eml")
    output = await forward(port).run(step_context(deps, store_mime(deps, raw)))
    assert output == {"sent": True, "to": TO, "refused": {}, "suppressed": []}
    [received] = handler.received
    assert received.mail_from == "mailhook@relay.example" and received.rcpt_tos == TO
    resent, rest = _unfold_resent(received.content)
    assert rest == raw.replace(b"\n", b"\r\n"), "the original must be sent byte for byte"
    assert resent["Resent-From"] == "mailhook@relay.example"
    assert resent["Resent-To"] == "oncall@team.example, archive@team.example"
    assert resent["Resent-Message-ID"].endswith("@relay.example>")
    assert "Resent-Date" in resent


async def test_forward_smtp_resent_message_id_is_stable_across_retries(
    deps: WorkerDeps, relay: tuple[RelayHandler, int]
) -> None:
    handler, port = relay
    step, ctx = forward(port), step_context(deps, store_mime(deps, mime_fixture("forward.eml")))
    await step.run(ctx)
    await step.run(ctx)
    ids = [_unfold_resent(r.content)[0]["Resent-Message-ID"] for r in handler.received]
    assert len(ids) == 2 and ids[0] == ids[1]


async def test_forward_smtp_envelope_from_overrides_the_sender(
    deps: WorkerDeps, relay: tuple[RelayHandler, int]
) -> None:
    handler, port = relay
    await forward(port, envelope_from="bounces@relay.example").run(step_context(deps, store_email(deps)))
    assert handler.received[0].mail_from == "bounces@relay.example"


async def test_forward_smtp_rebuilds_mime_when_there_is_no_raw(
    deps: WorkerDeps, relay: tuple[RelayHandler, int]
) -> None:
    handler, port = relay
    await forward(port).run(step_context(deps, store_email(deps, attachments=[pdf_attachment()])))
    [received] = handler.received
    parsed = email.message_from_bytes(received.content, policy=email.policy.default)
    assert parsed["Resent-To"] == "oncall@team.example, archive@team.example"
    assert parsed["From"] == "Acme Accounts <accounts@acme.example>"
    assert parsed["Subject"] == "Your Acme sign-in code"
    body = parsed.get_body(("plain",))
    assert body is not None and "048213" in body.get_content()
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_filename() == "invoice.pdf" and attachment.get_content() == b"%PDF-1.4 tiny\n"


async def test_forward_smtp_partial_refusal_is_a_success_listing_refusals(
    deps: WorkerDeps, relay: tuple[RelayHandler, int]
) -> None:
    handler, port = relay
    handler.rcpt_answers = {"archive@team.example": "550 5.1.1 No such user"}
    output = await forward(port).run(step_context(deps, store_email(deps)))
    assert output["sent"] is True and output["refused"] == {"archive@team.example": "550 5.1.1 No such user"}
    assert handler.received[0].rcpt_tos == ["oncall@team.example"]


@pytest.mark.parametrize(
    ("rcpt", "data", "error"),
    [
        ("450 4.2.1 Mailbox busy", None, RetryableStepError),
        ("550 5.1.1 No such user", None, PermanentStepError),
        ("250 OK", "451 4.3.0 Try again later", RetryableStepError),
        ("250 OK", "554 5.7.1 Rejected as spam", PermanentStepError),
    ],
)
async def test_forward_smtp_reply_class_decides_retry(
    deps: WorkerDeps, relay: tuple[RelayHandler, int], rcpt: str, data: str | None, error: type[Exception]
) -> None:
    handler, port = relay
    handler.rcpt_answers = {address: rcpt for address in TO}
    handler.data_answer = data
    with pytest.raises(error, match=(rcpt if data is None else data).split()[0]):
        await forward(port).run(step_context(deps, store_email(deps)))
    assert handler.received == []


async def test_forward_smtp_connection_refused_is_retryable(deps: WorkerDeps) -> None:
    with pytest.raises(RetryableStepError, match="unreachable: ConnectionRefusedError"):
        await forward(free_port()).run(step_context(deps, store_email(deps)))


async def test_forward_smtp_required_starttls_missing_is_permanent(
    deps: WorkerDeps, relay: tuple[RelayHandler, int]
) -> None:
    handler, port = relay
    with pytest.raises(PermanentStepError, match="STARTTLS"):
        await forward(port, security="starttls").run(step_context(deps, store_email(deps)))
    assert handler.received == []


async def test_forward_smtp_loopback_relay_is_refused_unless_allowed(
    settings: Settings, write_config: Callable[..., Path], relay: tuple[RelayHandler, int]
) -> None:
    handler, port = relay
    write_config(allow_hosts=())
    async with worker_deps(settings) as deps:
        with pytest.raises(PermanentStepError, match="refused: .*loopback"):
            await forward(port).run(step_context(deps, store_email(deps)))
    assert handler.connections == 0 and handler.received == []


async def test_forward_smtp_skips_suppressed_recipients(deps: WorkerDeps, relay: tuple[RelayHandler, int]) -> None:
    handler, port = relay
    add_suppression(deps.engine, "archive@team.example", reason="mailbox closed")
    output = await forward(port, to=["oncall@team.example", "Archive@Team.example"]).run(
        step_context(deps, store_email(deps))
    )
    assert output["to"] == ["oncall@team.example"]
    [skipped] = output["suppressed"]
    assert (skipped["address"], skipped["kind"], skipped["reason"]) == (
        "archive@team.example",
        "manual",
        "mailbox closed",
    )
    assert handler.received[0].rcpt_tos == ["oncall@team.example"]


async def test_a_recipient_written_in_angle_brackets_is_suppressed_too(
    deps: WorkerDeps, relay: tuple[RelayHandler, int]
) -> None:
    """The list stores addresses bare; a ``to`` entry in brackets is the same mailbox."""
    handler, port = relay
    add_suppression(deps.engine, "archive@team.example", reason="mailbox closed")
    output = await forward(port, to=["oncall@team.example", " <Archive@Team.example>"]).run(
        step_context(deps, store_email(deps))
    )
    assert output["to"] == ["oncall@team.example"]
    assert [skipped["address"] for skipped in output["suppressed"]] == ["archive@team.example"]
    assert handler.received[0].rcpt_tos == ["oncall@team.example"]


async def test_forward_smtp_all_suppressed_sends_nothing(deps: WorkerDeps, relay: tuple[RelayHandler, int]) -> None:
    handler, port = relay
    for address in TO:
        add_suppression(deps.engine, address, reason="hard bounce")
    output = await forward(port).run(step_context(deps, store_email(deps)))
    assert output["sent"] is False and [s["address"] for s in output["suppressed"]] == sorted(a.lower() for a in TO)
    assert handler.connections == 0


async def test_forward_smtp_expired_suppression_no_longer_applies(
    deps: WorkerDeps, relay: tuple[RelayHandler, int]
) -> None:
    handler, port = relay
    add_suppression(deps.engine, TO[0], reason="old", expires_at=datetime.now(UTC) - timedelta(days=1))
    output = await forward(port).run(step_context(deps, store_email(deps)))
    assert output["sent"] is True and output["suppressed"] == []


@pytest.mark.parametrize(
    "params",
    [{"to": []}, {"to": ["a@example.org\r\nBcc: x@evil.example"]}, {"from": "a@x\nB: c"}, {"security": "ssl"}],
)
def test_forward_smtp_bad_params_fail_validation(params: dict[str, Any]) -> None:
    values = {"host": "smtp.example.org", "to": TO, "from": "mailhook@relay.example"}
    with pytest.raises(ValidationError):
        ForwardSmtpParams.model_validate({**values, **params})
