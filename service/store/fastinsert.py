"""A lean multi-row INSERT for the ingest hot path on SQLite.

SQLAlchemy's Core ``executemany`` spends more time building parameters than SQLite spends
writing them (compile cache lookup, per-row processor dispatch, RETURNING bookkeeping). Here the
statement text and each column's bind processor (JSON encoding, datetime formatting) are resolved
once, and rows go to the driver's ``executemany`` as plain tuples. The values are exactly what
SQLAlchemy itself would send, so the ORM reads them back unchanged.

``sqlite_datetime`` and ``json_text`` are those two processors without SQLAlchemy's per-call
dispatch, for callers that build a hot table's tuples themselves (``tests/test_fastinsert.py``
holds them equal to SQLAlchemy's own output).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii
from typing import Any

from sqlalchemy import Dialect, Table

# The string encoder json.dumps itself uses with its defaults (ensure_ascii=True).
_quote: Callable[[str], str] = encode_basestring_ascii


class FastInsert:
    def __init__(self, table: Table, dialect: Dialect, columns: Sequence[str]) -> None:
        names = list(columns)
        self.columns = names
        quoted = ", ".join(dialect.identifier_preparer.quote(name) for name in names)
        marks = ", ".join("?" for _ in names)
        self.sql = f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({quoted}) VALUES ({marks})"
        self._processors: list[Callable[[Any], Any] | None] = [
            table.c[name].type._cached_bind_processor(dialect) for name in names
        ]

    def rows(self, records: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        pairs = list(zip(self.columns, self._processors, strict=True))
        return [
            tuple(process(record[name]) if process is not None else record[name] for name, process in pairs)
            for record in records
        ]

    def values(self, rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """``rows`` for tuples already in column order: only columns with a processor are touched."""
        converting = [(index, process) for index, process in enumerate(self._processors) if process is not None]
        out: list[tuple[Any, ...]] = []
        for row in rows:
            items = list(row)
            for index, process in converting:
                items[index] = process(items[index])
            out.append(tuple(items))
        return out


def sqlite_datetime(value: datetime | None) -> str | None:
    """An aware datetime as SQLAlchemy's ``UTCDateTime`` binds it on SQLite: converted to UTC,
    ``YYYY-MM-DD HH:MM:SS.ffffff`` without an offset (``isoformat`` pads the year to four digits
    and, with this timespec, always writes six microsecond digits)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:  # most values are already UTC (timestamps, utcnow): skip the conversion
        if value.utcoffset() is None:
            raise ValueError("Datetime values must have timezone information.")
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def json_string_pairs(pairs: Sequence[tuple[str, str]]) -> str:
    """``json.dumps([[k, v], ...])`` for string pairs (headers), spelled out: the generic encoder
    is built anew per call and was the largest Python cost of building a message row."""
    try:
        return "[" + ", ".join(["[" + _quote(k) + ", " + _quote(v) + "]" for k, v in pairs]) + "]"
    except TypeError:  # not all strings: let json decide
        return json.dumps([[k, v] for k, v in pairs])


def json_name_address_list(items: Sequence[tuple[str | None, str]]) -> str:
    """``json.dumps([{"name": n, "address": a}, ...])`` for address pairs, spelled out likewise."""
    try:
        return "[" + ", ".join([_address_object(name, address) for name, address in items]) + "]"
    except TypeError:
        return json.dumps([{"name": name, "address": address} for name, address in items])


def _address_object(name: str | None, address: str) -> str:
    return '{"name": ' + ("null" if name is None else _quote(name)) + ', "address": ' + _quote(address) + "}"


def json_text(value: Any) -> str:
    """A JSON column's value as SQLAlchemy binds it (``json.dumps`` with default arguments)."""
    if not value:
        # [] and {} are most of the list/dict columns of most messages (cc, reply_to, auth, defects).
        return "[]" if isinstance(value, list) else "{}" if isinstance(value, dict) else json.dumps(value)
    return json.dumps(value)
