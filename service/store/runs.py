"""Pipeline runs (``pipelinerun``, ``steprun``): the history the CLI and API read, reopening
dead-lettered runs, and what a worker job reads and writes as it runs a message's pipelines.

On the per-message path the ORM's unit of work (identity map, merges, flushes, instance
construction) cost more than the SQL itself, so a job loads its message, attachments and earlier
runs in one operation and records each stretch of a run in another, as plain data and Core SQL
run through the worker's ``TransactionBatcher``; the ORM is kept for the CLI and tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BindParameter, Connection, Engine, bindparam, func, insert, select, update
from sqlmodel import Session, col

from service.store.messages import load_attachments, load_message, mark_processing, set_status
from service.store.models import Attachment, Message, MessageStatus, PipelineRun, StepRun, table_of, utcnow

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


# --- a worker job's reads and writes ---------------------------------------------------------

FINAL_RUN_STATUSES = ("succeeded", "failed", "dropped")

_RUN = table_of(PipelineRun)
_STEP = table_of(StepRun)


@dataclass(slots=True)
class StepRecord:
    """A step's outcome within a run; ``stored`` once a committed row holds it."""

    position: int
    name: str
    status: str = "pending"
    attempts: int = 0
    duration_ms: float | None = None
    error: str | None = None
    output: dict[str, Any] | None = None
    stored: bool = False


@dataclass(slots=True)
class RunState:
    """The latest run of one pipeline for the message (``id`` None until first written)."""

    pipeline: str
    route: str | None
    id: int | None = None
    status: str = "running"
    steps: dict[int, StepRecord] = field(default_factory=dict)


@dataclass(slots=True)
class LoadedJob:
    message: Message
    attachments: list[Attachment]
    #: Latest resumable-or-finished run per pipeline name (for a replay: only runs it started).
    runs: dict[str, RunState]


# Statements are built once: constructing and coercing them per call cost as much as running them.
_SELECT_RUNS = (
    select(_RUN.c.id, _RUN.c.pipeline, _RUN.c.route, _RUN.c.status)
    .where(_RUN.c.message_id == bindparam("mid"))
    .order_by(_RUN.c.id.desc())
)
_RUN_VALUES: dict[str, BindParameter[Any]] = {
    "status": bindparam("new_status"),
    "error": bindparam("new_error"),
    "finished_at": bindparam("done"),
}
_INSERT_RUN = insert(_RUN).values(
    message_id=bindparam("mid"), pipeline=bindparam("name"), route=bindparam("via"), started_at=bindparam("now"),
    **_RUN_VALUES,
)  # fmt: skip
_UPDATE_RUN = update(_RUN).where(_RUN.c.id == bindparam("run_id")).values(**_RUN_VALUES)
_STEP_COLUMNS = ("name", "status", "attempts", "duration_ms", "error", "output", "updated_at")
_UPDATE_STEP = (
    update(_STEP)
    .where(_STEP.c.pipeline_run_id == bindparam("run_id"), _STEP.c.position == bindparam("at"))
    .values({column: bindparam(f"new_{column}") for column in _STEP_COLUMNS})
)

#: Extra writes a job collects before its first run is recorded (hydrated fields, attachments);
#: they ride in the same transaction.
Write = Callable[[Connection], None]


def load_job(conn: Connection, message_id: str, *, after_run: int | None = None) -> LoadedJob | None:
    """The message, its attachments and earlier runs; marks it processing unless it is done.

    ``after_run`` (a replay) ignores runs up to that id: the replay's first attempt starts every
    pipeline afresh, and its retries resume the runs that attempt started."""
    message = load_message(conn, message_id)
    if message is None:
        return None
    if message.status == MessageStatus.processed and after_run is None:
        return LoadedJob(message, [], {})
    attachments = load_attachments(conn, message_id)
    runs = _latest_runs(conn, message_id, after_run or 0)
    mark_processing(conn, message_id)
    return LoadedJob(message, attachments, runs)


def _latest_runs(conn: Connection, message_id: str, after_run: int) -> dict[str, RunState]:
    """The newest run of each pipeline; a dead-lettered (``failed``) one is not continued here
    (``mailhook replay --resume`` reopens it), so it counts as absent."""
    latest: dict[str, RunState] = {}
    for run_id, pipeline, route, status in conn.execute(_SELECT_RUNS, {"mid": message_id}):
        if pipeline not in latest and run_id > after_run:
            latest[pipeline] = RunState(pipeline, route, run_id, status)
    resumable = {state.id: state for state in latest.values() if state.status not in FINAL_RUN_STATUSES}
    if resumable:
        steps = select(_STEP).where(_STEP.c.pipeline_run_id.in_(list(resumable)))
        for step in conn.execute(steps).mappings():
            resumable[step["pipeline_run_id"]].steps[step["position"]] = StepRecord(
                step["position"],
                step["name"],
                step["status"],
                step["attempts"],
                step["duration_ms"],
                step["error"],
                step["output"],
                stored=True,
            )
    return {name: state for name, state in latest.items() if state.status != "failed"}


@dataclass(slots=True)
class RunWrite:
    """One stretch of a run to record: its steps, the run's status, maybe the message's."""

    message_id: str
    run: RunState
    steps: list[StepRecord]
    run_error: str | None = None
    message_status: MessageStatus | None = None
    message_error: str | None = None
    extra: list[Write] = field(default_factory=list)


def save_run(conn: Connection, write: RunWrite) -> int:
    """Record ``write`` (inserting the run on its first write); returns the run id."""
    for extra in write.extra:
        extra(conn)
    now = utcnow()
    run = write.run
    finished = now if run.status in FINAL_RUN_STATUSES else None
    values = {"new_status": run.status, "new_error": write.run_error, "done": finished}
    if run.id is None:
        params = {"mid": write.message_id, "name": run.pipeline, "via": run.route, "now": now, **values}
        inserted = conn.execute(_INSERT_RUN, params).inserted_primary_key
        if inserted is None:  # None only for an executemany; a one-row INSERT always has its key
            raise RuntimeError("the pipeline run INSERT returned no primary key")
        run_id = int(inserted[0])
    else:
        run_id = run.id
        conn.execute(_UPDATE_RUN, {"run_id": run_id, **values})
    _save_steps(conn, run_id, write.steps, now)
    if write.message_status is not None:
        set_status(conn, write.message_id, write.message_status, write.message_error)
    return run_id


def _save_steps(conn: Connection, run_id: int, steps: list[StepRecord], now: Any) -> None:
    """Insert new step rows, update stored ones (by run and position, which are unique).
    Nothing here changes ``steps``: the batch may be rolled back and run again, so the caller
    marks them stored once the write committed."""
    new = [_step_values(run_id, step, now) for step in steps if not step.stored]
    if new:
        conn.execute(insert(_STEP), new)
    stored = [step for step in steps if step.stored]
    if stored:
        conn.execute(_UPDATE_STEP, [_step_update(run_id, step, now) for step in stored])


def _step_update(run_id: int, step: StepRecord, now: Any) -> dict[str, Any]:
    values = _step_values(run_id, step, now)
    return {"run_id": run_id, "at": step.position, **{f"new_{column}": values[column] for column in _STEP_COLUMNS}}


def _step_values(run_id: int, step: StepRecord, now: Any) -> dict[str, Any]:
    return {
        "pipeline_run_id": run_id,
        "position": step.position,
        "name": step.name,
        "status": step.status,
        "attempts": step.attempts,
        "duration_ms": step.duration_ms,
        "error": step.error,
        "output": step.output,
        "updated_at": now,
    }
