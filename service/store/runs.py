"""Run history: reading it (CLI, API), reopening dead-lettered runs, bounding step outputs.

The per-job reads and writes of a running pipeline are in ``workers.pipeline.records``."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlmodel import Session, col

from service.store.models import PipelineRun, StepRun

MAX_OUTPUT_BYTES = 64 * 1024


def bounded_output(output: dict[str, Any] | None) -> dict[str, Any] | None:
    """Keep step outputs small in the database; later steps in the same run see them whole."""
    if output is None:
        return None
    encoded = json.dumps(output, default=str)
    if len(encoded) <= MAX_OUTPUT_BYTES:
        # A JSON object encodes back to one; the annotation tells the checker what json.loads returns.
        roundtrip: dict[str, Any] = json.loads(encoded)
        return roundtrip
    return {"_truncated": True, "_size": len(encoded), "preview": encoded[:1024]}


def list_runs(
    engine: Engine, *, status: str | None = None, message_id: str | None = None, limit: int = 50
) -> list[PipelineRun]:
    stmt = select(PipelineRun).order_by(col(PipelineRun.id).desc()).limit(limit)
    if status:
        stmt = stmt.where(col(PipelineRun.status) == status)
    if message_id:
        stmt = stmt.where(col(PipelineRun.message_id) == message_id)
    with Session(engine) as session:
        rows = list(session.scalars(stmt))
        for row in rows:
            session.expunge(row)
        return rows


def reopen_failed_runs(engine: Engine, message_id: str) -> int:
    """Let ``replay --resume`` continue failed runs: their failed steps get a fresh budget."""
    with Session(engine) as session:
        runs = list(
            session.scalars(
                select(PipelineRun).where(
                    col(PipelineRun.message_id) == message_id,
                    col(PipelineRun.status) == "failed",
                )
            )
        )
        for run in runs:
            run.status = "retrying"
            failed = session.scalars(
                select(StepRun).where(col(StepRun.pipeline_run_id) == run.id, col(StepRun.status) == "failed")
            )
            for step in failed:
                step.status, step.attempts = "retrying", 0
        session.commit()
        return len(runs)


def step_runs(engine: Engine, run_id: int) -> dict[int, StepRun]:
    """The step records of a run, by position."""
    with Session(engine) as session:
        rows = session.scalars(select(StepRun).where(col(StepRun.pipeline_run_id) == run_id))
        found = {row.position: row for row in rows}
        session.expunge_all()
        return found


def latest_run_id(conn: Connection, message_id: str) -> int:
    """The newest run id of a message (0 without runs): what a replay passes as ``after_run``."""
    stmt = select(func.max(col(PipelineRun.id))).where(col(PipelineRun.message_id) == message_id)
    return conn.execute(stmt).scalar() or 0
