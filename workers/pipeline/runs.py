"""Database operations for pipeline and step runs."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from service.models import PipelineRun, StepRun, utcnow

MAX_OUTPUT_BYTES = 64 * 1024


def open_run(engine: Engine, message_id: str, pipeline: str, route: str | None) -> PipelineRun:
    """Resume the unfinished run of this pipeline for the message, or start a new one."""
    with Session(engine) as session:
        stmt = (
            select(PipelineRun)
            .where(PipelineRun.message_id == message_id, PipelineRun.pipeline == pipeline)  # type: ignore[arg-type]
            .where(PipelineRun.status.in_(["running", "retrying"]))  # type: ignore[attr-defined]
            .order_by(PipelineRun.id.desc())  # type: ignore[union-attr]
        )
        run = session.scalars(stmt).first()
        if run is None:
            run = PipelineRun(message_id=message_id, pipeline=pipeline, route=route)
            session.add(run)
        run.status = "running"
        session.commit()
        session.refresh(run)
        session.expunge(run)
        return run


def step_runs(engine: Engine, run_id: int) -> dict[int, StepRun]:
    with Session(engine) as session:
        rows = session.scalars(select(StepRun).where(StepRun.pipeline_run_id == run_id))  # type: ignore[arg-type]
        found = {row.position: row for row in rows}
        for row in found.values():
            session.expunge(row)
        return found


def save_step(engine: Engine, step: StepRun) -> StepRun:
    step.updated_at = utcnow()
    with Session(engine) as session:
        merged = session.merge(step)
        session.commit()
        session.refresh(merged)
        session.expunge(merged)
        return merged


def finish_run(engine: Engine, run_id: int, status: str, error: str | None = None) -> None:
    with Session(engine) as session:
        run = session.get(PipelineRun, run_id)
        if run is not None:
            run.status = status
            run.error = error
            run.finished_at = utcnow() if status in ("succeeded", "failed", "dropped") else None
            session.commit()


def bounded_output(output: dict[str, Any] | None) -> dict[str, Any] | None:
    """Keep step outputs small in the database; later steps in the same run see them whole."""
    if output is None:
        return None
    encoded = json.dumps(output, default=str)
    if len(encoded) <= MAX_OUTPUT_BYTES:
        return json.loads(encoded)
    return {"_truncated": True, "_size": len(encoded), "preview": encoded[:1024]}


def list_runs(
    engine: Engine, *, status: str | None = None, message_id: str | None = None, limit: int = 50
) -> list[PipelineRun]:
    stmt = select(PipelineRun).order_by(PipelineRun.id.desc()).limit(limit)  # type: ignore[union-attr]
    if status:
        stmt = stmt.where(PipelineRun.status == status)  # type: ignore[arg-type]
    if message_id:
        stmt = stmt.where(PipelineRun.message_id == message_id)  # type: ignore[arg-type]
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
                    PipelineRun.message_id == message_id,  # type: ignore[arg-type]
                    PipelineRun.status == "failed",  # type: ignore[arg-type]
                )
            )
        )
        for run in runs:
            run.status = "retrying"
            failed = session.scalars(
                select(StepRun).where(StepRun.pipeline_run_id == run.id, StepRun.status == "failed")  # type: ignore[arg-type]
            )
            for step in failed:
                step.status, step.attempts = "retrying", 0
        session.commit()
        return len(runs)
