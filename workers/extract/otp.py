"""Find the one-time code a person is asked to type, or decide there is none.

Mail is full of code-shaped tokens that are not codes: order and tracking numbers, prices,
phone numbers, dates, postcodes, gift-card codes. Shape alone cannot tell them apart, so
every candidate is scored by the words around it, as a reader would: "your verification
code is" just before it, "code" on the line above a token that stands alone, "order #" or
"gift card code" right before it. A candidate needs positive evidence to be returned; a mail
that never talks about a code gets ``None``, whatever numbers it contains.

The subject and the sender's display name are weaker evidence: they say that the mail is
about a code, not which token it is. An imperative ("use 123456 to sign in", "enter X") hands
a token over to be typed; under such a subject that is enough. Which words can be codes at
all (``shapes``) and which words are cues (``cues``) live in their own modules.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from workers.extract.cues import Cue, find_cues, is_about_signing_in, is_instruction
from workers.extract.html_view import read_html
from workers.extract.shapes import CANDIDATE, STRIP, shape_score

__all__ = ["find_code"]

_THRESHOLD = 4
_NEWLINE = "\n"
_MAX_SOURCE_CHARS = 200_000
_WINDOW = 200  # characters of context read on each side of a token
_CURRENCY_AFTER = re.compile(
    r"(?i)^\s*(?:usd|eur|gbp|chf|jpy|cad|aud|inr|brl|mxn|sek|nok|dkk|pln|rub|cny|rmb|yen|euros?|dollars?)\b"
)
_FULLWIDTH_DIGIT = re.compile(r"[\uff10-\uff19]")
# Each alternative starts only where its run starts, and possessive runs never backtrack: a
# 1 MB token is scanned once, not once per character (that was quadratic).
_URLISH = re.compile(
    r"""(?i)\b(?:https?://|www\.)[^\s<>"']+|(?<![\w.+-])[\w.+-]++@[\w-]+(?:\.[\w-]+)+|\b\w++=[^\s&]+"""
)
_NUMERIC_WORD = re.compile(r"\S*\d\S*")
_GROUP_GAP = re.compile(r"[ \t./-]*")
_GROUP_NEXT = re.compile(r"[ \t./-]*\d")
_VALUE_AFTER_CUE = re.compile(r"[\s:=-]*[A-Z]{3,}(?![\w-])")
_QUOTE_PREFIX = re.compile(r"^(?:\s*>)+")
# After a token: "for 20% off", "at checkout" mark a promotion code, whatever came before.
_PROMO_AFTER = re.compile(r"(?i)^\W{0,3}(?:\S+\s+){0,4}?(?:\d+\s?%|off\b|at checkout|discount|sav(?:e|ings)\b)")
# The clause that follows a token ends at a sentence stop; "use 884213 to track your order" names
# what the token is within it.
_CLAUSE_END = re.compile(r"[.!?;\n]\s")
_INSTRUCTION_REACH = 40  # characters before a token where "use", "enter" ... may stand


class _Line:
    """One cleaned line and its cue words, found once so that every token on it is cheap to score."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._cues: list[Cue] | None = None

    @property
    def cues(self) -> list[Cue]:
        """All cue words of the line, computed on first use."""
        if self._cues is None:
            self._cues = find_cues(self.text)
        return self._cues

    def between(self, lo: int, hi: int) -> list[Cue]:
        """Cues lying wholly inside ``text[lo:hi]``, found by bisection."""
        cues = self.cues
        first = bisect.bisect_left(cues, (lo, 0, -2))
        last = bisect.bisect_left(cues, (hi, 0, -2))
        return [cue for cue in cues[first:last] if cue[1] <= hi]

    def last_polarity(self, lo: int = 0, hi: int | None = None) -> int:
        """Polarity of the cue nearest the end of ``text[lo:hi]``, i.e. nearest a token after it.

        A code word directly followed by an all-caps word ("responded with code NOERROR") has
        already been given its value, so it announces nothing further along the line.
        """
        hi = len(self.text) if hi is None else hi
        cues = self.between(lo, hi)
        if not cues:
            return 0
        _, end, polarity = cues[-1]
        return 0 if polarity > 0 and _VALUE_AFTER_CUE.match(self.text, end, hi) else polarity

    def first_polarity(self, lo: int = 0, hi: int | None = None) -> int:
        """Polarity of the cue nearest the start of ``text[lo:hi]``, i.e. nearest a token before it."""
        cues = self.between(lo, len(self.text) if hi is None else hi)
        return cues[0][2] if cues else 0


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A code-shaped token at a place in one source line."""

    token: str
    line: int
    start: int
    end: int
    base: int


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group(0))


def _clean(line: str) -> str:
    """Blank out quote markers, URLs, e-mail addresses and ``key=value`` pairs, keeping offsets.

    Each pattern needs a character most lines lack, so the regexes run only where it is.
    """
    if ">" in line:
        line = _QUOTE_PREFIX.sub(_blank, line)
    if "@" in line or "=" in line or "://" in line or ("." in line and "www." in line.lower()):
        line = _URLISH.sub(_blank, line)
    return line


def _candidates(lines: list[str]) -> Iterator[_Candidate]:
    """Every whole word (minus surrounding punctuation) whose shape could be a code.

    The lines are searched as one text that starts with a separator; no word spans a newline.
    """
    starts = list(itertools.accumulate((len(line) + 1 for line in lines), initial=1))
    text = _NEWLINE + _NEWLINE.join(lines)
    if not text.isascii():  # full-width digits are not, and most mail is
        text = _FULLWIDTH_DIGIT.sub(" ", text)
    for match in CANDIDATE.finditer(text):
        token = match.group(2)
        base = shape_score(token, match.group(1))
        if base is not None:
            index = bisect.bisect_right(starts, match.start(2)) - 1
            start = match.start(2) - starts[index]
            yield _Candidate(token, index, start, start + len(token), base)


def _neighbours(lines: list[_Line], index: int, step: int, limit: int) -> Iterator[tuple[int, _Line]]:
    """Up to ``limit`` non-blank lines next to ``index``, walking by ``step``, with their distance."""
    seen = 0
    position = index + step
    while 0 <= position < len(lines) and seen < limit:
        if lines[position].text.strip():
            seen += 1
            yield seen, lines[position]
        position += step


def _line_context(line: _Line, cand: _Candidate, header: int) -> int | None:
    """Score from the candidate's own line; ``None`` vetoes it (e.g. "Order #", "gift card code").

    Only a window around the token is read, so one huge line costs linear time, not quadratic.
    An instruction ("use 123456 to …") counts for more in a mail whose subject or sender
    (``header`` > 0) says it is about a code.
    """
    text, lo = line.text, max(0, cand.start - _WINDOW)
    after = text[cand.end : cand.end + _WINDOW]
    if _CURRENCY_AFTER.match(after) or _PROMO_AFTER.match(after):
        return None
    numbers = list(_NUMERIC_WORD.finditer(text, lo, cand.start))
    seg_start = numbers[-1].end() if numbers else lo
    if (numbers and _GROUP_GAP.fullmatch(text, seg_start, cand.start)) or _GROUP_NEXT.match(after):
        return None  # one group of a longer spaced number: phone, card, meeting ID
    polarity = line.last_polarity(max(seg_start, cand.start - 80), cand.start)
    if polarity:
        return 5 if polarity > 0 else None
    # "your code for order 12345 is 678901": "order" belongs to 12345, "code" still counts.
    if numbers and any(cue[2] > 0 for cue in line.between(lo, numbers[-1].start())):
        return 3
    next_number = _NUMERIC_WORD.search(after)
    after_end = cand.end + min(40, next_number.start() if next_number else len(after))
    after_polarity = line.first_polarity(cand.end, after_end)
    if after_polarity:
        return 4 if after_polarity > 0 else -2
    if _instructed(line, cand, after):
        return 3 if header > 0 else 2
    return 2 if any(cue[2] > 0 for cue in line.between(lo, cand.end + _WINDOW)) else 0


def _instructed(line: _Line, cand: _Candidate, after: str) -> bool:
    """An imperative hands the token over to be typed: "use 123456 to sign in".

    Unless the rest of its clause says what else the token is: "use 884213 to track your order".
    """
    if not is_instruction(line.text[max(0, cand.start - _INSTRUCTION_REACH) : cand.start]):
        return False
    stop = _CLAUSE_END.search(after)
    return all(cue[2] > 0 for cue in line.between(cand.end, cand.end + (stop.start() if stop else len(after))))


def _is_standalone(line: _Line, token: str) -> bool:
    """True when the token is all there is on its line, give or take punctuation."""
    return line.text.strip().strip(STRIP + " ") == token


def _nearby_context(lines: list[_Line], cand: _Candidate) -> int:
    """Evidence from the lines just above (and, more weakly, just below) a candidate."""
    for distance, line in _neighbours(lines, cand.line, -1, 2):
        polarity = line.last_polarity(max(0, len(line.text) - _WINDOW))
        if polarity:
            return (4 - distance) if polarity > 0 else -2
    for _, line in _neighbours(lines, cand.line, 1, 1):
        if line.first_polarity(0, _WINDOW) > 0:
            return 2
    return 0


def _score(lines: list[_Line], cand: _Candidate, header: int, prominent: bool) -> int | None:
    """Total score of one occurrence, or ``None`` when its context rules it out."""
    line = lines[cand.line]
    own = _line_context(line, cand, header)
    if own is None:
        return None
    score = cand.base + own + header + prominent
    standalone = _is_standalone(line, cand.token)
    if standalone:
        score += 2
    if standalone or own <= 0:
        score += _nearby_context(lines, cand)
    return score


def _sources(subject: str | None, text: str | None, html_text: str) -> list[list[str]]:
    """The subject, the plain text and the text of the HTML, each as cleaned lines."""
    sources = [subject.replace("\n", " ") if subject else "", text[:_MAX_SOURCE_CHARS] if text else "", html_text]
    return [[_clean(line) for line in source.splitlines()] for source in sources if source]


def _header_evidence(subject: str | None, sender: str | None) -> int:
    """What the subject ("Your sign-in code") or the sender's name ("Lumen Security") says: -1, 0 or 1.

    Weaker than any cue in the body: it says the mail is about a code or signing in (or an
    order), not which token is the code. A sender named for orders is not held against its codes.
    """
    if subject:
        polarity = _Line(subject).last_polarity()
        if polarity or is_about_signing_in(subject):
            return polarity or 1
    if sender:
        name = _clean(sender.replace(_NEWLINE, " "))
        return int(_Line(name).last_polarity() > 0 or is_about_signing_in(name))
    return 0


def find_code(subject: str | None, text: str | None, html: str | None, *, sender: str | None = None) -> str | None:
    """The one-time code in the mail, exactly as written, or ``None`` when there is none.

    ``sender`` is the display name of the From address (``Acme Security``), read like the
    subject as weak evidence. Forwarded mail needs no special case: the original body, its
    headers included, is part of the text and is scored like any other lines.
    """
    view = read_html(html[:_MAX_SOURCE_CHARS] if html else "")
    header = _header_evidence(subject, sender)
    best: dict[str, int] = {}  # insertion order = order of first appearance, used for ties
    for source in _sources(subject, text, view.text):
        lines = [_Line(line) for line in source]
        for cand in _candidates(source):
            score = _score(lines, cand, header, cand.token in view.prominent)
            if score is not None:
                best[cand.token] = max(score, best.get(cand.token, score))
    if not best:
        return None
    token = max(best, key=best.__getitem__)  # max() keeps the first of equal scores
    return token if best[token] >= _THRESHOLD else None
