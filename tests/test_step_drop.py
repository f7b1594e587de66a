"""``drop``: stop the pipeline successfully, always or when a condition holds."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from service.settings import Settings
from tests.support.servers import FakeSlack
from tests.support.steps import run_pipeline_job, step_context, store_email, worker_deps
from workers.deps import WorkerDeps
from workers.pipeline.definition import Pipeline
from workers.steps.base import PermanentStepError, StopPipeline
from workers.steps.drop import Drop, DropParams
from workers.steps.slack import Slack, SlackParams


@pytest.fixture
async def deps(settings: Settings, write_config: Callable[..., Path]) -> AsyncIterator[WorkerDeps]:
    write_config()
    async with worker_deps(settings) as built:
        yield built


def drop(**params: Any) -> Drop:
    return Drop(DropParams(**params))


async def test_drop_without_condition_stops(deps: WorkerDeps) -> None:
    with pytest.raises(StopPipeline, match="not interesting"):
        await drop(reason="not interesting").run(step_context(deps, store_email(deps)))


async def test_drop_if_no_code(deps: WorkerDeps) -> None:
    message = store_email(deps)
    with pytest.raises(StopPipeline):
        await drop(if_no_code=True).run(step_context(deps, message, {"extract_otp": {"code": None}}))
    output = await drop(if_no_code=True).run(step_context(deps, message, {"extract_otp": {"code": "048213"}}))
    assert output == {"dropped": False}


@pytest.mark.parametrize(
    ("when", "outputs", "dropped"),
    [
        ("'newsletter' in message.tags", {"tag": {"tags": ["newsletter"]}}, True),
        ("'newsletter' in message.tags", {}, False),
        ("message.from.address.endswith('@acme.example')", {}, True),
        ("not outputs.extract_links.links", {}, True),
    ],
)
async def test_drop_when_expression(deps: WorkerDeps, when: str, outputs: dict[str, Any], dropped: bool) -> None:
    ctx = step_context(deps, store_email(deps), outputs)
    if dropped:
        with pytest.raises(StopPipeline):
            await drop(when=when).run(ctx)
    else:
        assert await drop(when=when).run(ctx) == {"dropped": False}


async def test_drop_condition_error_is_permanent(deps: WorkerDeps) -> None:
    with pytest.raises(PermanentStepError, match="drop condition failed"):
        await drop(when="1 / 0").run(step_context(deps, store_email(deps)))


async def test_dropped_pipeline_skips_later_steps(deps: WorkerDeps, fake_slack: tuple[FakeSlack, str]) -> None:
    slack, url = fake_slack
    pipeline = Pipeline("p", (drop(if_no_code=True), Slack(SlackParams.model_validate({"webhook_url": url}))))
    outcome = await run_pipeline_job(deps, store_email(deps), pipeline, None)
    assert outcome.status == "dropped" and slack.attempts == 0


def test_drop_bad_expression_fails_validation() -> None:
    with pytest.raises(ValidationError, match="invalid expression"):
        DropParams(when="message.tags contains")
