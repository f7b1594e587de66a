"""``slack``: the built-in card, and ``text`` / ``blocks`` templates (retries are in test_worker.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from service.settings import Settings
from tests.support.servers import FakeSlack
from tests.support.steps import step_context, store_email, worker_deps
from workers.deps import WorkerDeps
from workers.steps.base import PermanentStepError, RetryableStepError
from workers.steps.slack import Slack, SlackParams


@pytest.fixture
async def deps(settings: Settings, write_config: Callable[..., Path]) -> AsyncIterator[WorkerDeps]:
    write_config()
    async with worker_deps(settings) as built:
        yield built


def slack_step(url: str, **params: Any) -> Slack:
    return Slack(SlackParams.model_validate({"webhook_url": url, **params}))


async def test_slack_default_card_has_code_and_escapes_subject(
    deps: WorkerDeps, fake_slack: tuple[FakeSlack, str]
) -> None:
    slack, url = fake_slack
    message = store_email(deps, subject="Ping <!channel> & co")
    await slack_step(url).run(step_context(deps, message, {"extract_otp": {"code": "048213"}}))
    [post] = slack.posts
    assert "<!channel>" not in post["text"] and "&lt;!channel&gt; &amp; co" in post["text"]
    assert "(code 048213)" in post["text"]
    assert post["blocks"][1]["fields"][2]["text"] == "*Code*\n`048213`"


async def test_slack_text_template_renders_message_and_outputs(
    deps: WorkerDeps, fake_slack: tuple[FakeSlack, str]
) -> None:
    slack, url = fake_slack
    step = slack_step(url, text="{{ message.from.address }} → {{ outputs.extract_otp.code }} ({{ message.subject }})")
    await step.run(step_context(deps, store_email(deps), {"extract_otp": {"code": "048213"}}))
    [post] = slack.posts
    assert post == {"text": "accounts@acme.example → 048213 (Your Acme sign-in code)"}


async def test_slack_blocks_override_renders_every_string(deps: WorkerDeps, fake_slack: tuple[FakeSlack, str]) -> None:
    slack, url = fake_slack
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*{{ message.subject | mrkdwn }}*"}}]
    await slack_step(url, blocks=blocks).run(step_context(deps, store_email(deps, subject="a <b> c")))
    [post] = slack.posts
    assert post["blocks"] == [{"type": "section", "text": {"type": "mrkdwn", "text": "*a &lt;b&gt; c*"}}]
    assert post["text"].startswith("New mail for ada@inbox.example"), "built-in summary stays as notification text"


async def test_slack_missing_output_renders_empty_not_error(
    deps: WorkerDeps, fake_slack: tuple[FakeSlack, str]
) -> None:
    slack, url = fake_slack
    await slack_step(url, text="code: [{{ outputs.extract_otp.code }}]").run(step_context(deps, store_email(deps)))
    assert slack.posts == [{"text": "code: []"}]


async def test_slack_template_runtime_error_is_permanent(deps: WorkerDeps, fake_slack: tuple[FakeSlack, str]) -> None:
    slack, url = fake_slack
    with pytest.raises(PermanentStepError, match="template failed: ZeroDivisionError"):
        await slack_step(url, text="{{ 1 / 0 }}").run(step_context(deps, store_email(deps)))
    assert slack.attempts == 0


async def test_slack_template_sandbox_blocks_python_internals(
    deps: WorkerDeps, fake_slack: tuple[FakeSlack, str]
) -> None:
    slack, url = fake_slack
    text = "{{ message.__class__.__mro__ }}|{{ outputs.pop('x', 1) }}"
    with pytest.raises(PermanentStepError, match="SecurityError"):
        await slack_step(url, text=text).run(step_context(deps, store_email(deps)))


async def test_slack_5xx_with_retry_after_is_retryable(deps: WorkerDeps, fake_slack: tuple[FakeSlack, str]) -> None:
    slack, url = fake_slack
    slack.script = [(503, {"Retry-After": "3"}, "down")]
    with pytest.raises(RetryableStepError) as caught:
        await slack_step(url).run(step_context(deps, store_email(deps)))
    assert caught.value.retry_after == 3.0


@pytest.mark.parametrize("params", [{"text": "{{ unclosed"}, {"blocks": [{"text": "{% for %}"}]}])
def test_slack_template_syntax_errors_fail_validation(params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="invalid template"):
        SlackParams.model_validate(params)


async def test_slack_default_card_names_the_to_header_when_there_is_no_envelope(
    deps: WorkerDeps, fake_slack: tuple[FakeSlack, str]
) -> None:
    """One recipient rule (service.mail.recipients): a raw .eml posted without an envelope is for its To:."""
    slack, url = fake_slack
    message = store_email(deps, envelope_to=[])
    await slack_step(url).run(step_context(deps, message))
    [post] = slack.posts
    assert post["text"].startswith("New mail for ada@inbox.example from accounts@acme.example")
    assert "unknown recipient" not in str(post)


async def test_slack_default_card_shows_the_verification_link(
    deps: WorkerDeps, fake_slack: tuple[FakeSlack, str]
) -> None:
    slack, url = fake_slack
    await slack_step(url).run(step_context(deps, store_email(deps), {"extract_otp": {"code": "048213"}}))
    [post] = slack.posts
    verify = "https://acme.example/verify?token=k7Qm2Zx9Lp3Vn8Rt5Wy1"
    assert f"<{verify}|{verify}>" in post["text"]
    assert post["blocks"][1]["fields"][3]["text"] == f"*Link*\n<{verify}|{verify}>"


async def test_slack_link_cannot_break_out_of_its_mrkdwn_link(
    deps: WorkerDeps, fake_slack: tuple[FakeSlack, str]
) -> None:
    slack, url = fake_slack
    outputs = {"extract_links": {"links": ["https://x.example/a|<!channel>"]}}
    await slack_step(url).run(step_context(deps, store_email(deps), outputs))
    [post] = slack.posts
    assert "<!channel>" not in str(post)
    assert "<https://x.example/a%7C%3C!channel%3E|" in post["text"]
