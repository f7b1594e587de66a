"""The one JSON reader for provider bodies and the JSON documents inside their fields, and the
typed reads of their fields (``require``, ``optional``, ``objects``, ``header_pairs``).

Providers send JSON that no provider's own code would: lone surrogate escapes, integers of
thousands of digits, nesting thousands deep, and objects with repeated keys. ``parse_json``
answers each the same way for every provider (issue 9): a 400 naming the field for what cannot
be read, a repair and a defect for what can.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar, overload

from service.errors import BadPayload

_T = TypeVar("_T")


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


@overload
def require(data: Mapping[str, Any], key: str, kind: type[_T], where: str = "") -> _T: ...
@overload
def require(data: Mapping[str, Any], key: str, kind: tuple[type, ...], where: str = "") -> Any: ...
def require(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str = "") -> Any:
    """Fetch a required field with a clear 400 when it is missing or of the wrong type."""
    path = f"{where}.{key}" if where else key
    if key not in data or data[key] is None:
        raise BadPayload(f"missing field '{path}'", details={"field": path})
    value = data[key]
    if not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise BadPayload(f"field '{path}' must be {expected}", details={"field": path})
    return value


@overload
def optional(data: Mapping[str, Any], key: str, kind: type[_T], where: str = "") -> _T | None: ...
@overload
def optional(data: Mapping[str, Any], key: str, kind: tuple[type, ...], where: str = "") -> Any: ...
def optional(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str = "") -> Any:
    if data.get(key) is None:
        return None
    return require(data, key, kind, where)


def objects(data: Mapping[str, Any], key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each object of the optional list field ``key`` (attachments) with its path ``key[i]``;
    400 naming the first item that is not an object."""
    for index, item in enumerate(optional(data, key, list) or []):
        where = f"{key}[{index}]"
        if not isinstance(item, dict):
            raise BadPayload(f"field '{where}' must be an object", details={"field": where})
        yield where, item


def header_pairs(pairs: Any, where: str) -> list[tuple[str, str]]:
    """A decoded ``[[name, value], ...]`` header list (Mailgun and ProxiedMail ``message-headers``)
    as header tuples, order and repeats kept; 400 naming ``where`` when it is anything else."""
    if not isinstance(pairs, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in pairs
    ):
        raise BadPayload(f"field '{where}' must be a list of [name, value] string pairs", details={"field": where})
    return [(name, value) for name, value in pairs]
