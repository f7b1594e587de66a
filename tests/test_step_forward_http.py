"""``forward_http``: signed per Standard Webhooks, verified by the reference library on a real server."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from service.cli.embedded_redis import free_port
from service.settings import Settings
from service.store.models import StepRun
from service.store.suppressions import add_suppression
from tests.support.servers import FakeSlack, serve_in_thread
from tests.support.steps import pdf_attachment, run_pipeline_job, step_context, store_email, worker_deps
from tests.support.webhook_receiver import HOOK_PATH, SECRET, WebhookReceiver
from workers.deps import WorkerDeps
from workers.pipeline.definition import Pipeline
from workers.steps.base import PermanentStepError, RetryableStepError
from workers.steps.forward_http import ForwardHttp, ForwardHttpParams
from workers.steps.slack import Slack, SlackParams

OUTPUTS: dict[str, Any] = {
    "extract_otp": {"code": "048213"},
    "extract_links": {"links": ["https://acme.example/verify?token=k7Qm2Zx9Lp3Vn8Rt5Wy1"]},
}
MESSAGE_KEYS = {
    "id", "source", "provider", "received_at", "envelope", "from", "to", "cc", "reply_to", "bcc", "subject",
    "message_id", "date", "text", "html", "reply_text", "stripped_text", "headers", "auth", "spam", "attachments",
    "code", "links", "tags", "bounce",
}  # fmt: skip


@pytest.fixture
def receiver() -> Iterator[tuple[WebhookReceiver, str]]:
    hook = WebhookReceiver()
    with serve_in_thread(hook.app()) as base:
        yield hook, base


@pytest.fixture
async def deps(settings: Settings, write_config: Callable[..., Path]) -> AsyncIterator[WorkerDeps]:
    write_config()
    async with worker_deps(settings) as built:
        yield built


def forward(url: str, **params: Any) -> ForwardHttp:
    return ForwardHttp(ForwardHttpParams.model_validate({"url": url, "secret": SECRET, **params}))


async def test_forward_http_posts_the_signed_message_json(
    deps: WorkerDeps, receiver: tuple[WebhookReceiver, str]
) -> None:
    hook, base = receiver
    message = store_email(deps, attachments=[pdf_attachment()])
    output = await forward(base + HOOK_PATH).run(step_context(deps, message, OUTPUTS))
    [delivery] = hook.deliveries
    assert delivery.verified
    assert output == {"status": 200, "webhook_id": delivery.headers["webhook-id"]}
    body = delivery.json()
    assert set(body) == MESSAGE_KEYS
    assert body["id"] == message.id and body["code"] == "048213"
    assert body["links"] == OUTPUTS["extract_links"]["links"]
    assert body["from"] == {"name": "Acme Accounts", "address": "accounts@acme.example"}
    assert body["envelope"] == {"from": "bounce@acme.example", "to": ["ada@inbox.example"]}
    assert body["received_at"] == "2024-05-01T09:30:00+00:00"
    assert body["attachments"][0]["filename"] == "invoice.pdf" and body["attachments"][0]["size"] == 14
    assert delivery.headers["content-type"] == "application/json"


async def test_forward_http_signature_is_the_spec_hmac(deps: WorkerDeps, receiver: tuple[WebhookReceiver, str]) -> None:
    """Independent of the library: base64(HMAC-SHA256(key, "id.timestamp.body")), key = base64 after whsec_."""
    hook, base = receiver
    await forward(base + HOOK_PATH).run(step_context(deps, store_email(deps)))
    [delivery] = hook.deliveries
    headers = delivery.headers
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + delivery.body
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"


async def test_forward_http_retries_reuse_the_webhook_id(
    deps: WorkerDeps, receiver: tuple[WebhookReceiver, str]
) -> None:
    hook, base = receiver
    hook.script = [(503, {}, "busy")]
    step, ctx = forward(base + HOOK_PATH), step_context(deps, store_email(deps))
    with pytest.raises(RetryableStepError, match="503"):
        await step.run(ctx)
    await step.run(ctx)
    first, second = hook.deliveries
    assert first.verified and second.verified
    assert first.headers["webhook-id"] == second.headers["webhook-id"]


async def test_forward_http_ids_differ_per_target(deps: WorkerDeps, receiver: tuple[WebhookReceiver, str]) -> None:
    _, base = receiver
    ctx = step_context(deps, store_email(deps))
    assert forward(base + HOOK_PATH).webhook_id(ctx) != forward(base + "/other").webhook_id(ctx)


@pytest.mark.parametrize("status", [408, 409, 425, 429, 500, 502, 503])
async def test_forward_http_transient_statuses_are_retryable(
    deps: WorkerDeps, receiver: tuple[WebhookReceiver, str], status: int
) -> None:
    hook, base = receiver
    hook.script = [(status, {"Retry-After": "7"}, "later")]
    with pytest.raises(RetryableStepError) as caught:
        await forward(base + HOOK_PATH).run(step_context(deps, store_email(deps)))
    assert caught.value.retry_after == 7.0 and str(status) in str(caught.value)


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
async def test_forward_http_other_4xx_are_permanent(
    deps: WorkerDeps, receiver: tuple[WebhookReceiver, str], status: int
) -> None:
    hook, base = receiver
    hook.script = [(status, {}, "no such hook")]
    with pytest.raises(PermanentStepError, match=f"{status}: no such hook"):
        await forward(base + HOOK_PATH).run(step_context(deps, store_email(deps)))
    assert len(hook.deliveries) == 1


async def test_forward_http_does_not_follow_redirects(deps: WorkerDeps, receiver: tuple[WebhookReceiver, str]) -> None:
    hook, base = receiver
    with pytest.raises(PermanentStepError, match="302"):
        await forward(base + "/moved").run(step_context(deps, store_email(deps)))
    assert hook.deliveries == []


async def test_forward_http_network_error_is_retryable(deps: WorkerDeps) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    with pytest.raises(RetryableStepError, match="unreachable: ConnectError"):
        await forward(url).run(step_context(deps, store_email(deps)))


async def test_forward_http_loopback_is_refused_unless_allowed(
    settings: Settings, write_config: Callable[..., Path], receiver: tuple[WebhookReceiver, str]
) -> None:
    hook, base = receiver
    write_config(allow_hosts=())
    async with worker_deps(settings) as deps:
        with pytest.raises(PermanentStepError, match="refused: .*loopback"):
            await forward(base + HOOK_PATH).run(step_context(deps, store_email(deps)))
    assert hook.deliveries == []


async def test_forward_http_template_shapes_the_signed_payload(
    deps: WorkerDeps, receiver: tuple[WebhookReceiver, str]
) -> None:
    hook, base = receiver
    template = '{"subject": {{ message.subject | tojson }}, "code": {{ outputs.extract_otp.code | tojson }}}'
    await forward(base + HOOK_PATH, template=template).run(step_context(deps, store_email(deps), OUTPUTS))
    [delivery] = hook.deliveries
    assert delivery.verified
    assert delivery.json() == {"subject": "Your Acme sign-in code", "code": "048213"}


async def test_forward_http_template_must_render_json(deps: WorkerDeps, receiver: tuple[WebhookReceiver, str]) -> None:
    hook, base = receiver
    with pytest.raises(PermanentStepError, match="did not render JSON"):
        await forward(base + HOOK_PATH, template="code={{ message.code }}").run(step_context(deps, store_email(deps)))
    assert hook.deliveries == []


async def test_forward_http_custom_headers_cannot_replace_the_signature(
    deps: WorkerDeps, receiver: tuple[WebhookReceiver, str]
) -> None:
    hook, base = receiver
    headers = {"Authorization": "Bearer abc", "Webhook-Signature": "v1,forged"}
    await forward(base + HOOK_PATH, headers=headers).run(step_context(deps, store_email(deps)))
    [delivery] = hook.deliveries
    assert delivery.verified and delivery.headers["authorization"] == "Bearer abc"


@pytest.mark.parametrize(
    "params",
    [
        {"secret": ""},
        {"secret": "whsec_"},
        {"url": "file:///etc/passwd"},
        {"template": "{% if %}"},
        {"timeout": 0},
        {"unknown": 1},
    ],
)
def test_forward_http_bad_params_fail_validation(params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ForwardHttpParams.model_validate({"url": "https://example.org/hook", "secret": SECRET, **params})


async def test_retried_pipeline_does_not_repeat_a_succeeded_forward(
    deps: WorkerDeps, receiver: tuple[WebhookReceiver, str], fake_slack: tuple[FakeSlack, str]
) -> None:
    hook, base = receiver
    slack, slack_url = fake_slack
    slack.script = [(500, {}, "boom")]
    slack_step = Slack(SlackParams.model_validate({"webhook_url": slack_url}))
    pipeline = Pipeline("p", (forward(base + HOOK_PATH), slack_step))
    message = store_email(deps)
    first = await run_pipeline_job(deps, message, pipeline, None)
    assert first.status == "retry" and "slack" in (first.error or "")
    second = await run_pipeline_job(deps, message, pipeline, None)
    assert second.status == "succeeded"
    assert len(hook.accepted) == 1, "the forward succeeded once and must not be sent again"
    assert len(slack.posts) == 1 and slack.attempts == 2
    with Session(deps.engine) as session:
        attempts = {row.name: row.attempts for row in session.exec(select(StepRun))}
    assert attempts == {"forward_http": 1, "slack": 2}


async def test_forward_http_skips_an_address_bound_target_while_suppressed(
    deps: WorkerDeps, receiver: tuple[WebhookReceiver, str]
) -> None:
    hook, base = receiver
    add_suppression(deps.engine, "ada@inbox.example", reason="hard bounce (user_unknown, 5.1.1)")
    output = await forward(base + HOOK_PATH, address="Ada@Inbox.example").run(step_context(deps, store_email(deps)))
    assert output["sent"] is False and hook.deliveries == []
    [skipped] = output["suppressed"]
    assert skipped["address"] == "ada@inbox.example" and skipped["reason"].startswith("hard bounce")
    # Other targets, and the same target without an address, still get the message.
    output = await forward(base + HOOK_PATH, address="bob@inbox.example").run(step_context(deps, store_email(deps)))
    assert output["status"] == 200 and len(hook.deliveries) == 1
