"""What a source may be called: one rule for HTTP sources (``/hooks/{name}``), the SMTP server's
source and pulled bounce-log accounts, which share the ``source`` columns and the CLI's
``--source`` filters (address accounts' ``--via`` names follow it too); and the one check that
names in a config list are unique."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from functools import partial
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator

T = TypeVar("T")

#: Lower-case letters, digits, ``-`` and ``_``; 1 to 63 characters, starting with a letter or digit.
SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def check_source_name(value: str, used: str = "used in URLs") -> str:
    """Pydantic validator body: ``value`` unchanged, or ``ValueError`` saying what is allowed
    and (``used``) why it matters."""
    if not SOURCE_NAME.match(value):
        raise ValueError(f"must be lower-case letters, digits, '-' or '_', 1 to 63 of them ({used})")
    return value


#: A config field that names a source (``name: SourceName``): checked as it is loaded.
SourceName = Annotated[str, AfterValidator(check_source_name)]
#: A pulled bounce-log account's name, which is the ``source`` of the events it records.
BounceSourceName = Annotated[str, AfterValidator(partial(check_source_name, used="it names the bounce source"))]


def repeated(names: Iterable[str]) -> list[str]:
    """The names that stand more than once in ``names``, sorted."""
    return sorted(name for name, count in Counter(names).items() if count > 1)


def unique_by(items: list[T], name: Callable[[T], str], what: str) -> list[T]:
    """Pydantic validator body: ``items`` unchanged, or ``ValueError`` listing the repeated
    names (``duplicate {what}: a, b``)."""
    dupes = repeated(map(name, items))
    if dupes:
        raise ValueError(f"duplicate {what}: {', '.join(dupes)}")
    return items


def unique(name: Callable[[Any], str], what: str) -> AfterValidator:
    """For ``Annotated[list[X], unique(attrgetter("name"), "names")]``: the list's ``unique_by``."""
    return AfterValidator(partial(unique_by, name=name, what=what))
