"""The one JSON reader for provider bodies and the JSON documents inside their fields.

Providers send JSON that no provider's own code would: lone surrogate escapes, integers of
thousands of digits, nesting thousands deep, and objects with repeated keys. ``parse_json``
answers each the same way for every provider (issue 9): a 400 naming the field for what cannot
be read, a repair and a defect for what can.
"""

from __future__ import annotations

import json
from typing import Any

from service.errors import BadPayload


class LongInt(str):
    """An integer literal past Python's int-string limit, kept as its digits: a ``str``, so every
    JSON writer (kept payloads, the bounce store's raw column) writes it back, as a string.

    A field that must be a number refuses it by name (400) or, where it is only metadata (an
    ImprovMX ``timestamp``), ignores it with a defect; id fields are held to their column's
    length by ``InboundProvider.event_id``.
    """

    __slots__ = ()


class JsonPairs(list[tuple[str, Any]]):
    """A JSON object read as its ``(key, value)`` pairs, in order, repeated keys kept: a dict
    keeps only the last value of a repeated key (Mailgun's ``content-id-map`` repeats keys)."""


def parse_json(text: str | bytes, where: str, defects: list[str] | None = None, *, pairs: bool = False) -> Any:
    """Decode JSON from a provider: 400 naming ``where`` for what cannot be read, repairs for
    what can.

    * Nesting deeper than the decoder's recursion limit is ``RecursionError`` in Python: 400.
    * An integer of more digits than Python's int-string limit (4300 by default) is
      ``ValueError``; no provider field holds such a number, so it is kept as ``LongInt`` (its
      digits) with a ``json_integer_too_long`` defect, and a field that needs it says so.
      The retry with a ``parse_int`` hook runs only then: a hook on every integer would make
      Forward Email's byte-array attachments (one integer per byte) several times slower.
    * Lone surrogate escapes decode (``"\\ud800"``); ``InboundProvider.email`` repairs them.
    """
    label = "body" if where == "body" else f"field '{where}'"
    details = None if where == "body" else {"field": where}
    long_numbers: list[str] = []

    def parse_int(digits: str) -> int | LongInt:
        try:
            return int(digits)
        except ValueError:  # over ``sys.get_int_max_str_digits()``
            long_numbers.append(digits)
            return LongInt(digits)

    hook = JsonPairs if pairs else None
    try:
        try:
            value = json.loads(text, object_pairs_hook=hook)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise
        except ValueError:  # the int-string limit (a JSONDecodeError is a ValueError too)
            value = json.loads(text, object_pairs_hook=hook, parse_int=parse_int)
    except UnicodeDecodeError:
        raise BadPayload(f"{label} is not valid UTF-8 JSON", details=details) from None
    except json.JSONDecodeError as exc:
        message = f"{label} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise BadPayload(message, details=details) from None
    except RecursionError:
        raise BadPayload(f"{label} is JSON nested too deeply", details=details) from None
    if long_numbers and defects is not None:
        defects.append(f"json_integer_too_long: {where}: {len(long_numbers)} kept as digits")
    return value
