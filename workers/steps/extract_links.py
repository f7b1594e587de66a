"""``extract_links``: the links a reader would click, verification and magic links first.

Ranking and filtering (unsubscribe footers, social icons, tracking pixels) live in
``workers.extract.find_links``; automations usually take ``links[0]``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from workers.extract import find_links
from workers.steps.base import Step, StepContext, StepParams


class ExtractLinksParams(StepParams):
    limit: int = Field(20, ge=1, le=500)


class ExtractLinks(Step[ExtractLinksParams]):
    """Find the message's useful links, verification/magic links first."""

    name = "extract_links"

    async def run(self, ctx: StepContext) -> dict[str, Any]:
        _, text, html = ctx.texts()
        return {"links": find_links(text, html)[: self.params.limit]}
