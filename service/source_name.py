"""What a source may be called: one rule for HTTP sources (``/hooks/{name}``) and the SMTP
server's source, which share the ``message.source`` column and the CLI's ``--source`` filter."""

from __future__ import annotations

import re

#: Lower-case letters, digits, ``-`` and ``_``; 1 to 63 characters, starting with a letter or digit.
SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def check_source_name(value: str) -> str:
    """Pydantic validator body: ``value`` unchanged, or ``ValueError`` saying what is allowed."""
    if not SOURCE_NAME.match(value):
        raise ValueError("must be lower-case letters, digits, '-' or '_', 1 to 63 of them (used in URLs)")
    return value
