"""The worker's group commit: concurrent jobs share transactions, and one bad operation fails
alone, on a real SQLite database."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

import pytest
from sqlalchemy import Connection, event, text
from sqlalchemy.exc import OperationalError

from service.settings import Settings
from service.store.db import make_engine
from workers.pipeline.txn import TransactionBatcher


def _counting_commits(engine: Any) -> dict[str, int]:
    counts = {"commits": 0}

    @event.listens_for(engine, "commit")
    def _commit(*_: Any) -> None:
        counts["commits"] += 1

    return counts


def _create_table(engine: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY)"))


def _insert(k: int) -> Any:
    def op(conn: Connection) -> int:
        conn.execute(text("INSERT INTO t (k) VALUES (:k)"), {"k": k})
        return k

    return op


def _rows(engine: Any) -> list[int]:
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT k FROM t ORDER BY k"))]


async def test_concurrent_operations_share_commits_and_each_gets_its_result(settings: Settings) -> None:
    engine = make_engine(settings)
    _create_table(engine)
    counts = _counting_commits(engine)
    batcher = TransactionBatcher(engine)
    results = await asyncio.gather(*(batcher.run(_insert(k)) for k in range(50)))
    assert results == list(range(50))
    assert _rows(engine) == list(range(50))
    assert counts["commits"] < 10, "50 concurrent operations should share a few transactions"
    engine.dispose()


async def test_a_failing_operation_fails_alone_and_its_neighbours_commit(settings: Settings) -> None:
    engine = make_engine(settings)
    _create_table(engine)
    batcher = TransactionBatcher(engine)
    calls = [batcher.run(_insert(k)) for k in (1, 2)]
    calls.append(batcher.run(_insert(1)))  # duplicate primary key: an IntegrityError
    calls.append(batcher.run(_insert(3)))
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert outcomes[:2] == [1, 2] and outcomes[3] == 3
    assert isinstance(outcomes[2], Exception) and "UNIQUE" in str(outcomes[2])
    assert _rows(engine) == [1, 2, 3]
    engine.dispose()


async def test_an_operation_after_a_failed_batch_still_runs(settings: Settings) -> None:
    engine = make_engine(settings)
    _create_table(engine)
    batcher = TransactionBatcher(engine)

    def broken(conn: Connection) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await batcher.run(broken)
    assert await batcher.run(_insert(7)) == 7
    assert _rows(engine) == [7]
    engine.dispose()


async def test_an_unavailable_database_fails_the_whole_batch_at_once(settings: Settings) -> None:
    """Locked past the busy timeout: every waiting operation gets the error after one wait,
    not one busy timeout per operation."""
    impatient = settings.model_copy(update={"database_busy_timeout_ms": 300})
    engine = make_engine(impatient)
    _create_table(engine)
    batcher = TransactionBatcher(engine)
    locker = sqlite3.connect(impatient.database_url.removeprefix("sqlite:///"), isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        outcomes = await asyncio.gather(*(batcher.run(_insert(k)) for k in range(10)), return_exceptions=True)
        waited = time.monotonic() - started
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert all(isinstance(o, OperationalError) for o in outcomes), outcomes
    assert waited < 10 * 0.3, f"waited {waited:.1f} s: the operations were retried one by one"
    assert await batcher.run(_insert(1)) == 1
    engine.dispose()
