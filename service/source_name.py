"""What a source may be called: one rule for HTTP sources (``/hooks/{name}``), the SMTP server's
source and pulled bounce-log accounts, which share the ``source`` columns and the CLI's
``--source`` filters."""

from __future__ import annotations

import re

#: Lower-case letters, digits, ``-`` and ``_``; 1 to 63 characters, starting with a letter or digit.
SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def check_source_name(value: str, used: str = "used in URLs") -> str:
    """Pydantic validator body: ``value`` unchanged, or ``ValueError`` saying what is allowed
    and (``used``) why it matters."""
    if not SOURCE_NAME.match(value):
        raise ValueError(f"must be lower-case letters, digits, '-' or '_', 1 to 63 of them ({used})")
    return value
