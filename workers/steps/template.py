"""``template``: render Jinja2 over ``message`` and ``outputs`` for later steps to use.

With ``format: text`` the output is ``{"text": ...}``; with ``format: json`` the rendered text
is parsed and must be a JSON object, which becomes the output itself, so a later template can
write ``outputs.template.ticket_id``. ``strict: true`` turns a missing variable into an error
instead of an empty string.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from workers.render.templating import TemplateSource, render, template_context
from workers.steps.base import PermanentStepError, Step, StepContext, StepParams


class TemplateParams(StepParams):
    template: TemplateSource
    format: Literal["text", "json"] = "text"
    strict: bool = False


class Template(Step[TemplateParams]):
    """Render a Jinja2 template to ``{"text": ...}`` or, with ``format: json``, to a JSON object."""

    name = "template"

    async def run(self, ctx: StepContext) -> dict[str, Any]:
        rendered = render(self.params.template, await template_context(ctx), strict=self.params.strict)
        if self.params.format == "text":
            return {"text": rendered}
        try:
            value = json.loads(rendered)
        except ValueError as exc:
            raise PermanentStepError(f"template did not render JSON: {exc}") from None
        if not isinstance(value, dict):
            raise PermanentStepError(f"template rendered JSON {type(value).__name__}, not an object")
        return value
