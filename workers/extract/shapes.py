"""Which words could be a one-time code, judged by their shape alone.

A shape gives a prior, never a verdict: six digits is the commonest code and starts slightly
ahead, a run of capitals with several vowels is probably a shouted word and starts far behind.
The words around a token (``otp``) decide. What a shape can do on its own is rule a token out:
a capitalised word, a camel-cased brand name, a phone number in groups, an amount.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["CANDIDATE", "STRIP", "shape_score"]

# CJK text has no spaces: ideographs, kana, hangul and full-width punctuation separate words too.
SEPARATORS = r"\s\u3000-\u30ff\u3400-\u9fff\uac00-\ud7af\uff00-\uffef"
STRIP = ".,;:!?()[]{}<>\"'`*_«»“”‘’„|"
# A separator, then a whole word (group 1) that, once ``STRIP`` punctuation is taken off its
# ends (group 2), has the alphabet and length of some code shape below and holds a digit, is
# upper case, or changes from lower to upper case inside (``kXpQzR``; a capitalised word such
# as ``Welcome`` does not, and no shape could tell it from prose). These are the only words
# ``shape_score`` can accept. One search over a whole source spares a Python call per word;
# starting at a separator lets ``re`` skip the rest of the text quickly, and possessive runs
# read each word a bounded number of times. Full-width digits separate words (like the CJK
# text around them) yet match ``\d``, so ``otp`` blanks them first.
_PUNCT = f"[{re.escape(STRIP)}]*+"
_WORD_END = f"(?![^{SEPARATORS}])"
CANDIDATE = re.compile(
    rf"[{SEPARATORS}]({_PUNCT}(?=[A-Za-z\d-]{{4,27}}+{_PUNCT}{_WORD_END})"
    rf"([A-Za-z-]*+\d[A-Za-z\d-]*+|[A-Z-]++|[A-Z]*+[a-z]++[A-Z][A-Za-z]*+(?<=[A-Za-z]{{6}}))"
    rf"{_PUNCT}){_WORD_END}"
)

_MONEY_OR_REF = re.compile(r"^[#$€£¥₹+№]|%|[$€£¥₹]$")
_VOWELS = re.compile(r"[AEIOUY]")
# A camel-cased word is a run of humps, each an upper-case run and the lower-case letters after it.
_HUMP = re.compile(r"[A-Z]*[a-z]+|[A-Z]+")
_SPOKEN = re.compile(r"[^aeiouy]*[aeiouy]", re.IGNORECASE)


def _digits_score(token: str) -> int:
    """Six digits is by far the commonest code length; years and YYYYMMDD dates are suspect."""
    if len(token) == 4 and 1900 <= int(token) <= 2099:
        return -3
    if len(token) == 8 and token[:2] in ("19", "20") and "01" <= token[4:6] <= "12" and "01" <= token[6:] <= "31":
        return -3
    return 1 if len(token) == 6 else 0


def _letters_score(token: str) -> int:
    """Upper-case letters: code generators leave vowels out so as not to spell words; words have them."""
    return -1 if len(_VOWELS.findall(token)) <= (1 if len(token) <= 8 else 2) else -3


def _is_wordlike(token: str) -> bool:
    """True for camel-cased words and names (``iPhone``, ``YouTube``, ``LinkedIn``, ``MySQL``, ``McAfee``).

    Every hump of such a word can be said: it holds a vowel, or it is a short acronym. A random
    mixed-case code almost always has a hump without a vowel (``Hb`` in ``HbTqWmLs``).
    """
    for hump in _HUMP.findall(token):
        if not (_SPOKEN.match(hump) or (hump.isupper() and len(hump) <= 4) or hump == "Mc"):
            return False
    return True


def _dashed_score(token: str) -> int | None:
    """Groups of capitals and digits: a group of digits alone marks a phone number, date or part number."""
    if any(group.isdigit() for group in token.split("-")):
        return None
    return 1 if token.replace("-", "").isalpha() else 0


def _mixed_case_score(token: str) -> int | None:
    return None if _is_wordlike(token) else -1


def _prior(score: int) -> Callable[[str], int]:
    return lambda _token: score


# Every shape a code can take, in the order they are tried: the first pattern that matches the
# whole token gives its prior (or rules it out with ``None``).
_SHAPES: tuple[tuple[re.Pattern[str], Callable[[str], int | None]], ...] = tuple(
    (re.compile(pattern), score)
    for pattern, score in (
        (r"\d{4,8}", _digits_score),
        (r"\d{3}-\d{3}", _prior(0)),
        (r"(?=[A-Z]*\d)(?=\d*[A-Z])[A-Z\d]{4,12}", _prior(0)),  # capitals and digits
        (r"[A-Z\d]{3,6}(?:-[A-Z\d]{3,6}){1,3}", _dashed_score),
        (r"(?=(?:[A-Za-z]*\d){2})(?=(?:\d*[A-Za-z]){2})[A-Za-z\d]{6,12}", _prior(-1)),  # two letters, two digits
        # Letters in both cases with one digit or none (``HbTqWmLs``, ``Tr7kPw``), or letters with one digit
        # (``x7kpqz``; upper case with digits is a shape above). Without a digit, one case is just a word.
        (r"(?!(?:\D*\d){2})(?:(?=[^a-z]*[a-z])(?=[^A-Z]*[A-Z])|(?=\D*\d))[A-Za-z\d]{6,12}", _mixed_case_score),
        (r"[A-Z]{6,12}", _letters_score),
    )
)


def shape_score(token: str, raw: str) -> int | None:
    """Prior for a token from its shape alone; ``None`` when it cannot be a code.

    ``raw`` is the word before punctuation was stripped: a ``#``, currency sign, ``+`` or
    ``%`` glued to it marks a reference, an amount, a phone number or a rate.
    """
    if _MONEY_OR_REF.search(raw):
        return None
    for pattern, score in _SHAPES:
        if pattern.fullmatch(token):
            return score(token)
    return None
