"""Strict query-string parsing for the read API.

A test that misspells a parameter (``?subjet=Welcome``) must fail loudly, not silently match
every message, so unknown and repeated parameters are refused like malformed ones: 400 with
``details.parameter`` naming the culprit.

Message cursors are message ids (26 Crockford base-32 characters, time-ordered); a timestamp is
accepted wherever a message cursor is and becomes the cursor of that instant. Lists of other
rows (bounces, suppressions) page by keyset: their cursor names the last row's time and id.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from starlette.datastructures import QueryParams

from service.errors import BadParameter
from service.moments import aware
from service.store.ids import encode_id
from service.store.recipients import Recipient, split_address

#: A message id / cursor: 128 bits as 26 lower-case Crockford characters (so the first is 0-7).
CURSOR_PATTERN = r"^[0-7][0-9a-hjkmnp-tv-z]{25}$"
#: One mailbox, no display name: what a recipient filter compares against.
ADDRESS_PATTERN = r"^[^\s@<>()\[\],;:\"\\]{1,64}@[^\s@<>()\[\],;:\"\\]{1,255}$"
#: A keyset cursor (bounce and suppression pages): the last row's time in µs since the epoch, ".", its id.
KEYSET_PATTERN = r"^[0-9]{1,17}\.[0-9]{1,10}$"
#: Row ids are 32-bit integers on PostgreSQL: a larger one in a cursor was not made by us.
_MAX_ROW_ID = 2**31 - 1
_CURSOR = re.compile(CURSOR_PATTERN)
_KEYSET = re.compile(KEYSET_PATTERN)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
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


def keyset_cursor(moment: datetime, row_id: int | None) -> str:
    """The cursor after a row ordered by (time, id), newest first (``Query.keyset`` reads it)."""
    return f"{(aware(moment) - _EPOCH) // timedelta(microseconds=1)}.{row_id or 0}"


def checked_address(value: object, name: str) -> str:
    """One bare mailbox (no display name), storable in every database (no NUL, no lone
    surrogate), stripped; anything else is 400 naming ``name``."""
    if isinstance(value, str) and "\x00" not in value and _ADDRESS.fullmatch(value.strip()):
        try:
            value.encode()
            return value.strip()
        except UnicodeEncodeError:
            pass
    shown = repr(value[:80]) if isinstance(value, str) else type(value).__name__
    raise BadParameter(name, f"{name} must be an email address like signup@example.com, got {shown}")


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
        return split_address(checked_address(value, name))

    def cursor(self, name: str) -> str | None:
        value = self._raw(name)
        if value is None:
            return None
        if not _CURSOR.fullmatch(value.lower()):
            raise BadParameter(name, f"{name} is not a cursor returned by this API")
        return value.lower()

    def keyset(self, name: str) -> tuple[datetime, int] | None:
        """A cursor made by ``keyset_cursor``: (time, id) of the last row already seen."""
        value = self._raw(name)
        if value is None:
            return None
        if not _KEYSET.fullmatch(value):
            raise BadParameter(name, f"{name} is not a cursor returned by this API")
        micros, _, row_id = value.partition(".")
        if int(row_id) > _MAX_ROW_ID:
            raise BadParameter(name, f"{name} is not a cursor returned by this API")
        return _EPOCH + timedelta(microseconds=int(micros)), int(row_id)

    def timestamp(self, name: str) -> datetime | None:
        """An ISO 8601 timestamp (UTC unless it says otherwise) or Unix seconds."""
        value = self._raw(name)
        if value is None:
            return None
        moment = _timestamp(value)
        if moment is None:
            raise BadParameter(name, f"{name} must be an ISO 8601 timestamp or Unix seconds")
        return moment.astimezone(UTC)

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
        parsed = aware(datetime.fromisoformat(value))
        parsed.astimezone(UTC).timestamp()  # out of range in UTC raises here, not later
    except (ValueError, OverflowError, OSError):
        return None
    if parsed.year < 1970:
        return None
    return parsed
