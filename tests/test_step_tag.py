"""``tag``: templated tags, accumulated across ``tag`` steps, visible in the message JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from service.settings import Settings
from tests.support.steps import run_pipeline_job, step_context, store_email, worker_deps
from workers.deps import WorkerDeps
from workers.pipeline.definition import Pipeline
from workers.render.message_json import build_message_json
from workers.steps.base import Step, StepContext
from workers.steps.tag import Tag, TagParams


@pytest.fixture
async def deps(settings: Settings, write_config: Callable[..., Path]) -> AsyncIterator[WorkerDeps]:
    write_config()
    async with worker_deps(settings) as built:
        yield built


async def test_tag_renders_templates_and_drops_empty_results(deps: WorkerDeps) -> None:
    step = Tag(TagParams(tags=["otp", "source:{{ message.source }}", "{{ outputs.extract_otp.code and 'has-code' }}"]))
    output = await step.run(step_context(deps, store_email(deps)))
    assert output == {"tags": ["otp", "source:improvmx"]}


async def test_tag_adds_to_earlier_tags_once(deps: WorkerDeps) -> None:
    ctx = step_context(deps, store_email(deps), {"tag": {"tags": ["otp"]}})
    output = await Tag(TagParams(tags=["otp", "acme"])).run(ctx)
    assert output == {"tags": ["otp", "acme"]}


async def test_tags_reach_the_message_json_of_later_steps(deps: WorkerDeps) -> None:
    seen: list[list[str]] = []

    class Probe(Step):
        name = "probe"

        async def run(self, ctx: StepContext) -> None:
            seen.append((await build_message_json(ctx))["tags"])

    pipeline = Pipeline("p", (Tag(TagParams(tags=["a"])), Tag(TagParams(tags=["b"])), Probe()))
    assert (await run_pipeline_job(deps, store_email(deps), pipeline, None)).status == "succeeded"
    assert seen == [["a", "b"]]


@pytest.mark.parametrize("tags", [[], ["{{ broken"]])
def test_tag_bad_params_fail_validation(tags: list[str]) -> None:
    with pytest.raises(ValidationError):
        TagParams(tags=tags)
