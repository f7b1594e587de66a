"""Making hostile text storable: lone surrogates and NUL out of text, JSON-shaped values and
records, and file names that are names, never paths.

Every store, HTTP client and template takes what these functions return; they never raise on
user data.
"""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass, replace
from itertools import repeat
from typing import Any

#: Any UTF-16 surrogate code point: JSON's ``"\\ud800"`` escape decodes to one when it is not
#: half of a pair, and no UTF-8 encoder (database driver, HTTP client, template) accepts it.
_SURROGATE = re.compile("[\ud800-\udfff]")
#: Characters no file name may hold: C0 and C1 controls, DEL (RFC 2183 §2.3 leaves the
#: receiver to decide what a safe name is; these end lines and strings in every consumer).
_UNSAFE_IN_NAME = re.compile("[\x00-\x1f\x7f-\x9f]")
_DRIVE = re.compile(r"^[A-Za-z]:")
#: The usual name, stored as given: no separator, control character, drive prefix or surrounding
#: blank, not only dots, at most 255 characters.
_PLAIN_NAME = re.compile(
    r"(?![A-Za-z]:)(?!\.*$)[^\x00-\x1f\x7f-\x9f/\\\s]([^\x00-\x1f\x7f-\x9f/\\]{0,253}[^\x00-\x1f\x7f-\x9f/\\\s])?"
)
_MAX_FILENAME_CHARS = 255


def _unstorable_text(text: str) -> bool:
    """Text no store takes as it is: a lone surrogate (no UTF-8 encoder accepts it) or NUL
    (PostgreSQL text refuses it; ``json.dumps`` and SQLite do not, so it passed every test)."""
    return "\x00" in text or (not text.isascii() and _SURROGATE.search(text) is not None)


def has_unstorable(value: Any) -> bool:
    """Whether ``value`` (text, or lists/dicts/records of it) holds unstorable text.
    Allocates nothing: ASCII text, nearly all of it, is answered by a flag and a ``find``."""
    if isinstance(value, str):
        return _unstorable_text(value)
    if isinstance(value, list | tuple):
        return any(map(has_unstorable, value))
    if isinstance(value, dict):
        return any(has_unstorable(k) or has_unstorable(v) for k, v in value.items())
    if _is_record(value):
        return any(has_unstorable(getattr(value, f.name)) for f in fields(value))
    return False


def scrub(value: Any) -> Any:
    """``value`` (text, or JSON-shaped lists/dicts of it, or records) with lone surrogates and NUL
    replaced by U+FFFD; the very same object when there was nothing to replace."""
    if not has_unstorable(value):
        return value
    if isinstance(value, str):
        return _repair(value)
    if isinstance(value, list | tuple):
        items = [scrub(item) for item in value]
        return type(value)(items)
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if _is_record(value):
        return replace(value, **{f.name: scrub(getattr(value, f.name)) for f in fields(value)})
    return value


def _repair(text: str) -> str:
    """Surrogates from ``surrogateescape`` decoding (8-bit header bytes read by the stdlib) are
    the original bytes: read them as UTF-8. Any other (a JSON ``\\ud800``) and NUL become U+FFFD."""
    text = text.replace("\x00", "\ufffd")
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)


def any_unstorable(texts: list[str]) -> bool:
    """Whether any of ``texts`` is unstorable. The common case (nothing is) is two flat passes
    in C over the list: ``str.isascii``, then a search for NUL."""
    storable = (all(map(str.isascii, texts)) or not any(map(_SURROGATE.search, texts))) and not any(
        map(str.__contains__, texts, repeat("\x00"))
    )
    return not storable


def _is_record(value: Any) -> bool:
    """A dataclass instance (an email's ``Address`` or ``InboundAttachment``): its fields are
    checked and scrubbed one by one; bytes fields (an attachment's data) are left as they are."""
    return is_dataclass(value) and not isinstance(value, type)


def safe_filename(name: str | None) -> str | None:
    """The stored name of an attachment: only the last path component, never a path.

    RFC 7578 §4.2 and RFC 2183 §2.3: a receiver keeps the last component of a name that
    carries a directory (``\\share\\mail\\forwarded.msg`` → ``forwarded.msg``; both separators,
    since Outlook sends Windows paths). Control characters are removed; names that would still
    mean something to a file system (empty, ``.``, ``..``, dots only, a drive prefix) become
    ``None``, i.e. "no name". Long names keep their extension within 255 characters.
    """
    if name is None or _PLAIN_NAME.fullmatch(name):
        return name
    last = re.split(r"[\\/]", scrub(_UNSAFE_IN_NAME.sub("", name)))[-1]
    cleaned = _DRIVE.sub("", last).strip()
    if not cleaned.strip("."):
        return None
    if len(cleaned) > _MAX_FILENAME_CHARS:
        stem, dot, extension = cleaned.rpartition(".")
        keep = dot + extension if dot and len(extension) <= 16 else ""
        cleaned = (stem if keep else cleaned)[: _MAX_FILENAME_CHARS - len(keep)] + keep
    return cleaned
