"""``extract_otp``: the one-time code in the message, or null.

Always null for a message the worker read as a bounce or complaint (``message.bounce``): a DSN
quotes the original mail, often with its code, and that code was never meant for this inbox.
"""

from __future__ import annotations

from typing import Any

from workers.extract import find_code
from workers.steps.base import Step, StepContext, StepParams


class ExtractOtp(Step[StepParams]):
    name = "extract_otp"

    async def run(self, ctx: StepContext) -> dict[str, Any]:
        if ctx.message.bounce is not None:
            return {"code": None}
        subject, text, html = ctx.texts()
        return {"code": find_code(subject, text, html, sender=ctx.message.from_name)}
