"""Strict query-string parsing for the read API.

A test that misspells a parameter (``?subjet=Welcome``) must fail loudly, not silently match
every message, so unknown and repeated parameters are refused like malformed ones: 400 with
``details.parameter`` naming the culprit.

Cursors are message ids (26 Crockford base-32 characters, time-ordered); a timestamp is accepted
wherever a cursor is and becomes the cursor of that instant.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from datetime import UTC, datetime

from starlette.datastructures import QueryParams

from service.errors import BadParameter
from service.inbound import encode_id
from service.store.recipients import Recipient, split_address

#: A message id / cursor: 128 bits as 26 lower-case Crockford characters (so the first is 0-7).
CURSOR_PATTERN = r"^[0-7][0-9a-hjkmnp-tv-z]{25}$"
#: One mailbox, no display name: what a recipient filter compares against.
ADDRESS_PATTERN = r"^[^\s@<>()\[\],;:\"\\]{1,64}@[^\s@<>()\[\],;:\"\\]{1,255}$"
_CURSOR = re.compile(CURSOR_PATTERN)
_ADDRESS = re.compile(ADDRESS_PATTERN)
_MAX_TEXT = 1000
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


def cursor_at(moment: datetime) -> str:
    """The cursor of an instant: every message stored at or after it sorts above it."""
    ms = int(moment.timestamp() * 1000)
    value = max(0, (ms << 80) - 1)
    return encode_id(value)


def now_cursor() -> str:
    return cursor_at(datetime.now(UTC))


class Query:
    """One request's query parameters, checked against the names an endpoint accepts."""

    def __init__(self, params: QueryParams, allowed: Collection[str]) -> None:
        for name in params:
            if name not in allowed:
                raise BadParameter(name, f"unknown parameter {name!r}; this endpoint takes {_names(allowed)}")
            if len(params.getlist(name)) > 1:
                raise BadParameter(name, f"parameter {name!r} is given more than once")
        self._params = params

    def _raw(self, name: str) -> str | None:
        return self._params.get(name)

    def text(self, name: str) -> str | None:
        value = self._raw(name)
        if value is None:
            return None
        if not value or len(value) > _MAX_TEXT or "\x00" in value:
            raise BadParameter(name, f"{name} must be 1 to {_MAX_TEXT} characters")
        return value

    def address(self, name: str, *, required: bool = False) -> Recipient | None:
        value = self._raw(name)
        if value is None:
            if required:
                raise BadParameter(name, f"{name} is required: the address to wait for")
            return None
        if not _ADDRESS.fullmatch(value.strip()):
            raise BadParameter(name, f"{name} must be an email address like signup@example.com, got {value[:80]!r}")
        return split_address(value)

    def cursor(self, name: str) -> str | None:
        value = self._raw(name)
        if value is None:
            return None
        if not _CURSOR.fullmatch(value.lower()):
            raise BadParameter(name, f"{name} is not a cursor returned by this API")
        return value.lower()

    def moment(self, name: str, *, end: bool = False) -> str | None:
        """A cursor, or an ISO 8601 timestamp (UTC unless it says otherwise) or Unix seconds.

        ``end``: the bound is the end of that millisecond (for ``until``)."""
        value = self._raw(name)
        if value is None:
            return None
        if _CURSOR.fullmatch(value.lower()):
            return value.lower()
        moment = _timestamp(value)
        if moment is None:
            raise BadParameter(name, f"{name} must be a cursor, an ISO 8601 timestamp or Unix seconds")
        if end:
            return cursor_at(datetime.fromtimestamp(math.floor(moment.timestamp() * 1000 + 1) / 1000, UTC))
        return cursor_at(moment)

    def number(self, name: str, *, default: float, low: float, high: float) -> float:
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not low <= number <= high:  # NaN fails too
            raise BadParameter(name, f"{name} must be a number from {low:g} to {high:g}")
        return number

    def integer(self, name: str, *, default: int, low: int, high: int) -> int:
        value = self._raw(name)
        if value is None:
            return default
        if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
            raise BadParameter(name, f"{name} must be a whole number from {low} to {high}")
        return int(value)

    def flag(self, name: str) -> bool:
        value = self._raw(name)
        if value is None:
            return False
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise BadParameter(name, f"{name} must be true or false")

    def choice(self, name: str, choices: Collection[str]) -> str | None:
        value = self._raw(name)
        if value is not None and value not in choices:
            raise BadParameter(name, f"{name} must be one of {_names(choices)}")
        return value


def _names(names: Collection[str]) -> str:
    return ", ".join(sorted(names)) or "no parameters"


def _timestamp(value: str) -> datetime | None:
    try:
        if re.fullmatch(r"\d{1,11}(\.\d{1,6})?", value):
            return datetime.fromtimestamp(float(value), UTC)
        parsed = datetime.fromisoformat(value)
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        parsed.astimezone(UTC).timestamp()  # out of range in UTC raises here, not later
    except (ValueError, OverflowError, OSError):
        return None
    if parsed.year < 1970:
        return None
    return parsed
