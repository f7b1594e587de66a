"""The new part of a reply or forward: what the sender typed above the quoted history.

Clients mark where the quoted history starts with an attribution line, and that line is the
only reliable signal (quoted bodies are not always ``>``-prefixed). Everything from the first
marker on is dropped, and so are ``>`` lines above it (inline, bottom-posted quoting). For a
forward, the note typed before ``---------- Forwarded message`` is the reply text.

Markers, per client:
  * Gmail, Apple Mail, Thunderbird: ``On <date>, <name> wrote:``; Gmail wraps long ones onto a
    second line, so a line is also tried joined with the next. German, French, Spanish and
    Dutch clients write ``Am … schrieb …:``, ``Le … a écrit :``, ``El … escribió:``, ``Op … schreef …:``.
  * Outlook: ``-----Original Message-----``, or a rule of underscores followed by ``From:``.
  * Gmail forwards: ``---------- Forwarded message ---------``; Apple Mail: ``Begin forwarded message:``.
"""

from __future__ import annotations

import re

_ATTRIBUTION = re.compile(
    r"^\s*(?:On\s.{1,300}\swrote|Am\s.{1,300}\sschrieb.{0,100}|Le\s.{1,300}\sa\s+écrit|"
    r"El\s.{1,300}\sescribió|Op\s.{1,300}\sschreef.{0,100})\s*:\s*$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"^\s*(?:-{2,}\s*Original Message\s*-{2,}|-{3,}\s*Forwarded message\s*-{3,}|Begin forwarded message:)\s*$",
    re.IGNORECASE,
)
_OUTLOOK_RULE = re.compile(r"^\s*_{20,}\s*$")


def _is_marker(lines: list[str], index: int) -> bool:
    line = lines[index]
    following = lines[index + 1] if index + 1 < len(lines) else ""
    if _SEPARATOR.match(line) or _ATTRIBUTION.match(line):
        return True
    if _OUTLOOK_RULE.match(line):
        return following.lstrip().lower().startswith("from:")
    # A wrapped attribution's first half never ends a sentence; this keeps "On second thought."
    # from being glued to the real attribution on the next line.
    if not following or line.rstrip().endswith((".", "!", "?")):
        return False
    return _ATTRIBUTION.match(f"{line} {following}") is not None


def reply_text(text: str | None) -> str | None:
    """The unquoted top of ``text``; ``None`` when there is no text at all."""
    if text is None:
        return None
    lines = text.splitlines()
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _is_marker(lines, index):
            break
        if not line.startswith(">"):
            kept.append(line.rstrip())
    return "\n".join(kept).strip()
