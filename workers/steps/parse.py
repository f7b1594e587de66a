"""``parse``: the message's text, HTML, attachments, defects and reply text.

Provider JSON already carries text, HTML and attachments (stored at ingest), and the job
hydrates raw/SMTP messages into the same row before any pipeline runs (``parsed_at`` set), so
usually the row is the answer and nothing is parsed twice. A message whose raw MIME was never
hydrated is decoded here by ``service.mime.body`` with the stdlib parser. Whatever goes wrong, the
step falls back to the stored fields and records a defect: a message is never lost because a
parser choked on it.

Parsing runs in a worker thread under ``asyncio.wait_for``. Python cannot stop a thread, so
on timeout the parse keeps running in the background until it finishes (it holds one thread
of the default executor meanwhile); the step itself moves on at once with the stored fields
and a ``parse_timeout`` defect. Inputs are bounded by the ingest size limit, so such a thread
does end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field

from service.mime.body import parse_mime
from service.mime.mailparser_engine import parse_with_mailparser
from service.store.models import Message
from workers.extract import html_to_text
from workers.extract.reply_text import reply_text
from workers.render.message_json import stored_attachments
from workers.steps.base import Step, StepContext, StepParams

PARSE_TIMEOUT_S = 20.0


class ParseParams(StepParams):
    timeout: float = Field(PARSE_TIMEOUT_S, gt=0, le=300)
    #: ``stdlib`` (default, ``service.mime.body``) or ``mail-parser`` (re-decodes raw MIME with it).
    engine: Literal["stdlib", "mail-parser"] = "stdlib"


class Parse(Step[ParseParams]):
    """Decode text, HTML, attachment metadata and defects; derive the unquoted reply text."""

    name = "parse"

    async def run(self, ctx: StepContext) -> dict[str, Any]:
        result = _stored(ctx.message)
        parsed = await self._parse_raw(ctx)
        for key in ("subject", "text", "html"):
            if parsed.get(key) is not None:
                result[key] = parsed[key]
        result["defects"] += parsed.get("defects", [])
        if "attachments" in parsed:
            result["attachments"] = parsed["attachments"]
        elif ctx.attachments is not None:
            result["attachments"] = stored_attachments(ctx)
        else:
            result["attachments"] = await asyncio.to_thread(stored_attachments, ctx)
        result["reply_text"] = await _off_loop_if_large(_reply_of, result["text"], result["html"])
        return result

    async def _parse_raw(self, ctx: StepContext) -> dict[str, Any]:
        """``parse_mime``'s result; ``{}`` without raw MIME; only a defect when it cannot finish."""
        if ctx.message.parsed_at is not None and self.params.engine == "stdlib":
            return {}  # ``workers.hydrate`` already parsed the raw MIME into the row and attachment rows
        try:
            raw = await asyncio.to_thread(ctx.raw_mime)
        except OSError as exc:
            return {"defects": [f"raw_mime_unreadable: {type(exc).__name__}"]}
        if raw is None:
            return {}
        try:
            decoder = parse_with_mailparser if self.params.engine == "mail-parser" else parse_mime
            return await asyncio.wait_for(asyncio.to_thread(decoder, raw), self.params.timeout)
        except TimeoutError:
            return {"defects": [f"parse_timeout: gave up after {self.params.timeout:g} s; stored fields used"]}


#: Below this many characters of text + HTML, deriving the reply text costs less than handing
#: it to a thread (tens of microseconds) and cannot stall the event loop noticeably.
_INLINE_CHARS = 256 * 1024


async def _off_loop_if_large(
    fn: Callable[[str | None, str | None], str | None], text: str | None, html: str | None
) -> str | None:
    if len(text or "") + len(html or "") <= _INLINE_CHARS:
        return fn(text, html)
    return await asyncio.to_thread(fn, text, html)


def _stored(message: Message) -> dict[str, Any]:
    return {
        "subject": message.subject,
        "text": message.text,
        "html": message.html,
        "defects": list(message.defects),
    }


def _reply_of(text: str | None, html: str | None) -> str | None:
    """HTML-only mail still has a reply: its visible text, cut the same way."""
    if text is None and html:
        text = html_to_text(html)
    return reply_text(text)
