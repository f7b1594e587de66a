"""A lean multi-row INSERT for the ingest hot path on SQLite.

SQLAlchemy's Core ``executemany`` spends more time building parameters than SQLite spends
writing them (compile cache lookup, per-row processor dispatch, RETURNING bookkeeping). Here the
statement text and each column's bind processor (JSON encoding, datetime formatting) are resolved
once, and rows go to the driver's ``executemany`` as plain tuples. The values are exactly what
SQLAlchemy itself would send, so the ORM reads them back unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Dialect, Table


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
