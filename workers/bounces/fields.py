"""RFC 822-style field blocks, the syntax of ``message/delivery-status`` and ``message/feedback-report``.

The stdlib parses a delivery-status part into a list of header blocks only when the part is
well formed and not transfer-encoded; MTAs also paste the same fields into plain-text notices
(Amazon WorkMail, some Exchange and SES relays). So the blocks are re-read from text here, the
one path for all of them.
"""

from __future__ import annotations

import re
from email.message import Message

from workers.bounces import mime

Field = tuple[str, str]  # (lower-cased name, unfolded value)
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]{1,40})[ \t]*:[ \t]*(.*)$")


def blocks_from_text(text: str) -> list[list[Field]]:
    """Blank-line-separated blocks of ``Name: value`` fields (continuation lines unfolded).

    Lines that are not fields end nothing: prose around pasted fields is skipped.
    """
    blocks: list[list[Field]] = []
    current: list[Field] = []
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = []
            continue
        if line[:1] in " \t" and current:
            name, value = current[-1]
            current[-1] = (name, f"{value} {line.strip()}".strip())
            continue
        match = _FIELD.match(line)
        if match:
            current.append((match.group(1).lower(), match.group(2).strip()))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def part_text(part: Message) -> str:
    """A report part's content as text, however the stdlib chose to represent it."""
    payload = part.get_payload()
    if isinstance(payload, list):
        chunks = []
        for block in payload:
            if isinstance(block, Message):
                chunks.append("\n".join(f"{name}: {_one_line(value)}" for name, value in block.items()))
                body = block.get_payload()
                if isinstance(body, str):
                    # A block with no blank line after it swallows the next block as its "body".
                    chunks.append(body)
        return "\n\n".join(chunks)
    return mime.payload_text(part)  # transfer-encoded, or a string payload


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


def first(fields: list[Field], name: str) -> str | None:
    for key, value in fields:
        if key == name:
            return value
    return None
