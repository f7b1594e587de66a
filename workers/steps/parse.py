"""``parse``: the message's text, HTML and defects, from raw MIME when there is one.

Provider JSON already carries text and HTML; raw MIME (raw/SMTP sources) is parsed with
mail-parser. A parser crash is recorded as a defect and the step falls back to the stored
fields: a message is never lost because a dependency choked on it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import mailparser

from workers.steps.base import Step, StepContext

_MAX_TEXT = 2_000_000


class Parse(Step):
    name = "parse"

    async def run(self, ctx: StepContext) -> dict[str, Any]:
        message = ctx.message
        result: dict[str, Any] = {
            "subject": message.subject,
            "text": message.text,
            "html": message.html,
            "defects": list(message.defects),
        }
        raw = ctx.raw_mime()
        if raw is not None:
            result.update(await asyncio.to_thread(_parse_mime, raw))
            result["defects"] = list(message.defects) + result["defects"]
        return result


def _parse_mime(raw: bytes) -> dict[str, Any]:
    try:
        parsed = mailparser.parse_from_bytes(raw)
    except Exception as exc:  # mail-parser raises arbitrary errors on hostile MIME
        return {"defects": [f"parser_error: {type(exc).__name__}: {str(exc)[:200]}"]}
    return {
        "subject": parsed.subject or None,
        "text": "\n".join(parsed.text_plain)[:_MAX_TEXT] or None,
        "html": "\n".join(parsed.text_html)[:_MAX_TEXT] or None,
        "defects": [str(d) for d in parsed.defects_categories],
    }
