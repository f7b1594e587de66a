"""``tag``: label the message for later steps and receivers (``message.tags`` in the JSON).

Each tag is a template, so ``"source:{{ message.source }}"`` works. Outputs are keyed by step
name, so a second ``tag`` step in the same pipeline would hide the first one's output: each
run therefore starts from the earlier ``tag`` output and adds to it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from workers.render.templating import check_template, render, template_context
from workers.steps.base import Step, StepContext, StepParams


class TagParams(StepParams):
    tags: list[str] = Field(min_length=1)

    @field_validator("tags")
    @classmethod
    def _tags_compile(cls, value: list[str]) -> list[str]:
        return [check_template(tag) for tag in value]


class Tag(Step[TagParams]):
    """Add templated tags to ``outputs.tag.tags``; empty results are dropped, duplicates kept once."""

    name = "tag"

    async def run(self, ctx: StepContext) -> dict[str, Any]:
        earlier = (ctx.outputs.get("tag") or {}).get("tags") or []
        context = await template_context(ctx)
        rendered = (render(tag, context).strip() for tag in self.params.tags)
        return {"tags": list(dict.fromkeys([*earlier, *(tag for tag in rendered if tag)]))}
