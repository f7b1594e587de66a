"""Database operations for pipeline and step runs."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, select, update
from sqlmodel import Session

from service.models import Message, MessageStatus, PipelineRun, StepRun, utcnow

MAX_OUTPUT_BYTES = 64 * 1024
FINAL_RUN_STATUSES = ("succeeded", "failed", "dropped")


def begin_run(
    engine: Engine, message_id: str, pipeline: str, route: str | None, *, mark_processing: bool, fresh: bool = False
) -> tuple[PipelineRun, dict[int, StepRun]]:
    """One transaction: find this pipeline's latest run for the message, or start one; load its
    step records; and (for the first pipeline of a job) mark the message processing.

    An unfinished run is resumed; a finished one is returned as it is (the caller skips it: a job
    retried because a *later* pipeline failed must not redo this one). ``fresh`` (a replay)
    always starts a new run."""
    with Session(engine, expire_on_commit=False) as session:
        stmt = (
            select(PipelineRun)
            .where(PipelineRun.message_id == message_id, PipelineRun.pipeline == pipeline)  # type: ignore[arg-type]
            .order_by(PipelineRun.id.desc())  # type: ignore[union-attr]
        )
        run = None if fresh else session.scalars(stmt).first()
        if run is not None and run.status == "failed":
            run = None  # a dead-lettered run is only continued through `replay --resume`
        if run is None:
            run = PipelineRun(message_id=message_id, pipeline=pipeline, route=route)
            session.add(run)
        if run.status not in FINAL_RUN_STATUSES:
            run.status = "running"
        if mark_processing:
            _set_message(session, message_id, MessageStatus.processing, None, attempt=True)
        session.flush()
        steps = {row.position: row for row in session.scalars(select(StepRun).where(StepRun.pipeline_run_id == run.id))}  # type: ignore[arg-type]
        session.commit()
        session.expunge_all()
        return run, steps


def record(
    engine: Engine,
    steps: list[StepRun],
    *,
    run: tuple[int, str, str | None] | None = None,
    message: tuple[str, MessageStatus, str | None] | None = None,
) -> list[StepRun]:
    """One transaction for everything a stretch of the run learned: step outcomes, and optionally
    the run's status ``(id, status, error)`` and the message's ``(id, status, error)``."""
    with Session(engine, expire_on_commit=False) as session:
        saved = []
        for step in steps:
            step.updated_at = utcnow()
            saved.append(session.merge(step))
        if run is not None:
            _finish_run(session, *run)
        if message is not None:
            _set_message(session, *message)
        session.commit()
        session.expunge_all()
        return saved


def _finish_run(session: Session, run_id: int, status: str, error: str | None) -> None:
    session.execute(
        update(PipelineRun)
        .where(PipelineRun.id == run_id)  # type: ignore[arg-type]
        .values(status=status, error=error, finished_at=utcnow() if status in FINAL_RUN_STATUSES else None)
    )


def _set_message(
    session: Session, message_id: str, status: MessageStatus, error: str | None, *, attempt: bool = False
) -> None:
    values: dict[str, Any] = {"status": status.value, "error": error, "updated_at": utcnow()}
    if attempt:
        values["attempts"] = Message.attempts + 1
    session.execute(update(Message).where(Message.id == message_id).values(**values))  # type: ignore[arg-type]


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


def step_runs(engine: Engine, run_id: int) -> dict[int, StepRun]:
    """The step records of a run, by position."""
    with Session(engine) as session:
        rows = session.scalars(select(StepRun).where(StepRun.pipeline_run_id == run_id))  # type: ignore[arg-type]
        found = {row.position: row for row in rows}
        session.expunge_all()
        return found
