"""Case-insensitive word lists that search ASCII text several times faster than ``(?i)``.

Python's ``re`` tries every branch of a case-insensitive alternation at every position of the
text; a case-sensitive branch that starts with a literal is rejected by one comparison. Mail
text, URLs and link labels are nearly always ASCII, and on ASCII text a lower-case pattern run
case-sensitively over the lower-cased text finds exactly the matches, at the same offsets, that
the case-insensitive pattern finds in the original. Anything else takes the ``(?i)`` pattern.

``alternation`` builds such a list so that ``re`` has little to try where a word starts: the
words are grouped by their first letter, and one comparison skips each group that cannot match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

__all__ = ["NoCase", "alternation", "fragments"]

_NOT_LITERAL = frozenset("\\[](){}.*+?|^$")
_QUANTIFIERS = frozenset("?*+{")


class NoCase:
    """A case-insensitive pattern with ``search`` and ``finditer``; matched text may be lower-cased.

    The pattern must be written in lower case: an upper-case letter (or escape such as ``\\S``)
    would mean something else once the text is lower-cased, so it is refused. ``non_ascii`` is
    an alternative that can only match non-ASCII text (words in other scripts); the ASCII
    pattern leaves it out, so ASCII text does not pay for it.
    """

    __slots__ = ("_ascii", "_unicode")

    def __init__(self, pattern: str, *, non_ascii: str = "") -> None:
        if any("A" <= char <= "Z" for char in pattern + non_ascii):
            raise ValueError(f"NoCase patterns are written in lower case: {pattern!r}")
        self._ascii = re.compile(pattern)
        self._unicode = re.compile(f"{pattern}|{non_ascii}" if non_ascii else pattern, re.IGNORECASE)

    def search(self, text: str) -> re.Match[str] | None:
        """The first match, as ``re.Pattern.search`` with ``re.IGNORECASE`` finds it."""
        if text.isascii():
            return self._ascii.search(text.lower())
        return self._unicode.search(text)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """All matches, as ``re.Pattern.finditer`` with ``re.IGNORECASE`` finds them."""
        if text.isascii():
            return self._ascii.finditer(text.lower())
        return self._unicode.finditer(text)


def fragments(*groups: str, end: str = "") -> list[str]:
    """The space-separated regex fragments of ``groups``, each followed by ``end``."""
    return [fragment + end for group in groups for fragment in group.split()]


def alternation(items: Iterable[str]) -> str:
    """One alternation of regex fragments, grouped behind their first character.

    Fragments that share a first character become one branch, in their given order, so the
    first fragment listed still wins where two match at one place. A fragment must start with
    a literal character that no quantifier follows.
    """
    branches: dict[str, list[str]] = {}
    for fragment in items:
        first = fragment[0]
        if first in _NOT_LITERAL or fragment[1:2] in _QUANTIFIERS:
            raise ValueError(f"fragment must start with a literal character: {fragment!r}")
        branches.setdefault(first, []).append(fragment[1:])
    return "|".join(
        re.escape(first) + (rests[0] if len(rests) == 1 else f"(?:{'|'.join(rests)})")
        for first, rests in branches.items()
    )
