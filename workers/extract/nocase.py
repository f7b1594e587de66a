"""Case-insensitive word lists that search ASCII text several times faster than ``(?i)``.

Python's ``re`` tries every branch of a case-insensitive alternation at every position of the
text; a case-sensitive branch that starts with a literal is rejected by one comparison. Mail
text, URLs and link labels are nearly always ASCII, and on ASCII text a lower-case pattern run
case-sensitively over the lower-cased text finds exactly the matches, at the same offsets, that
the case-insensitive pattern finds in the original. Anything else takes the ``(?i)`` pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["NoCase"]


class NoCase:
    """A case-insensitive pattern with ``search`` and ``finditer``; matched text may be lower-cased.

    The pattern must be written in lower case: an upper-case letter (or escape such as ``\\S``)
    would mean something else once the text is lower-cased, so it is refused.
    """

    __slots__ = ("_ascii", "_unicode")

    def __init__(self, pattern: str) -> None:
        if any("A" <= char <= "Z" for char in pattern):
            raise ValueError(f"NoCase patterns are written in lower case: {pattern!r}")
        self._ascii = re.compile(pattern)
        self._unicode = re.compile(pattern, re.IGNORECASE)

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
