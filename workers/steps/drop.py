"""``drop``: end the pipeline here, successfully, optionally only when a condition holds.

Conditions are deliberately few: ``if_no_code`` (``extract_otp`` found nothing) and ``when``, a
Jinja2 *expression* over ``message`` and ``outputs`` (``"'newsletter' in message.tags"``).
Given both, both must hold. Without either, ``drop`` always stops the run.
"""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from workers.render.templating import environment, template_context
from workers.steps.base import PermanentStepError, Step, StepContext, StepParams, StopPipeline


class DropParams(StepParams):
    if_no_code: bool = False
    when: str | None = None
    reason: str | None = None

    @field_validator("when")
    @classmethod
    def _when_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                environment().compile_expression(value)
            except Exception as exc:  # TemplateSyntaxError and friends
                raise ValueError(f"invalid expression: {exc}") from None
        return value


class Drop(Step[DropParams]):
    """Stop the pipeline (successfully) when its condition holds."""

    name = "drop"

    async def run(self, ctx: StepContext) -> dict[str, Any]:
        if self.params.if_no_code and (ctx.outputs.get("extract_otp") or {}).get("code"):
            return {"dropped": False}
        if self.params.when is not None and not await self._holds(ctx, self.params.when):
            return {"dropped": False}
        raise StopPipeline(self.params.reason or "dropped")

    async def _holds(self, ctx: StepContext, expression: str) -> bool:
        context = await template_context(ctx)
        try:
            return bool(environment().compile_expression(expression)(**context))
        except Exception as exc:  # jinja2 evaluation errors: the same input fails the same way
            raise PermanentStepError(f"drop condition failed: {type(exc).__name__}: {exc}") from None
