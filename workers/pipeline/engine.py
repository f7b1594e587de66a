"""Running a pipeline over a message, step by step, recording each step's outcome.

Outputs of succeeded steps are reloaded instead of re-running them, so a retried job resumes at
the step that failed. Each step has its own attempt budget; when it is spent the run is
dead-lettered (``failed``) and waits for ``mailhook replay``.

Writes are grouped: one transaction opens the run, one closes it (step records, run status and
message status together), and a step with side effects has its success committed before the
next step starts. The default pipeline costs two transactions per message instead of one per
step and status change, which is what lets a worker keep up with ingest on SQLite.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from service.models import Message, MessageStatus, StepRun
from workers.deps import WorkerDeps
from workers.pipeline.definition import Pipeline
from workers.pipeline.runs import begin_run, bounded_output, record
from workers.steps.base import PermanentStepError, RetryableStepError, Step, StepContext, StopPipeline

log = logging.getLogger("mailhook.pipeline")


@dataclass(frozen=True)
class RunOutcome:
    status: str  # "succeeded" | "dropped" | "retry" | "failed"
    error: str | None = None
    retry_after: float | None = None
    attempts: int = 0


_RUN_STATUS = {"succeeded": "succeeded", "dropped": "dropped", "failed": "failed", "retry": "retrying"}


async def run_pipeline(
    deps: WorkerDeps,
    message: Message,
    pipeline: Pipeline,
    route: str | None,
    *,
    first: bool = True,
    last: bool = True,
    fresh: bool = False,
) -> RunOutcome:
    """Run (or resume) ``pipeline``; ``first``/``last`` say whether this run opens or closes the
    job, so the message's status is written in the same transactions as the run's."""
    run, done = await asyncio.to_thread(
        begin_run, deps.engine, message.id, pipeline.name, route, mark_processing=first, fresh=fresh
    )
    assert run.id is not None
    if run.status in ("succeeded", "dropped"):
        outcome = RunOutcome(run.status)
        if last:
            await asyncio.to_thread(record, deps.engine, [], message=(message.id, MessageStatus.processed, None))
        return outcome
    ctx = StepContext(message=message, deps=deps, pipeline=pipeline.name, route=route)
    pending: list[StepRun] = []
    outcome = RunOutcome("succeeded")
    for position, step in enumerate(pipeline.steps):
        record_ = done.get(position) or StepRun(pipeline_run_id=run.id, position=position, name=step.name)
        if record_.status == "succeeded":
            ctx.outputs[step.name] = record_.output
            continue
        result = await _run_step(deps, step, record_, ctx)
        pending.append(record_)
        if result is not None:
            outcome = result
            break
        if step.side_effects and position < len(pipeline.steps) - 1:
            await asyncio.to_thread(record, deps.engine, pending)
            pending = []
    status = _message_status(outcome, last)
    message_update = (message.id, status, outcome.error) if status is not None else None
    run_update = (run.id, _RUN_STATUS[outcome.status], outcome.error)
    await asyncio.to_thread(record, deps.engine, pending, run=run_update, message=message_update)
    return outcome


def _message_status(outcome: RunOutcome, last: bool) -> MessageStatus | None:
    if outcome.status == "failed":
        return MessageStatus.failed
    if outcome.status == "retry":
        return MessageStatus.processing
    return MessageStatus.processed if last else None


async def _run_step(deps: WorkerDeps, step: Step, record_: StepRun, ctx: StepContext) -> RunOutcome | None:
    """Run one step; ``None`` means "go on", an outcome ends this attempt of the run."""
    record_.attempts += 1
    started = time.perf_counter()
    outcome: RunOutcome | None = None
    try:
        output = await step.run(ctx)
        ctx.outputs[step.name] = output
        record_.output = bounded_output(output)
        record_.status, record_.error = "succeeded", None
    except StopPipeline as exc:
        record_.status, record_.error = "succeeded", None
        outcome = RunOutcome("dropped", str(exc) or None)
    except PermanentStepError as exc:
        record_.status, record_.error = "failed", str(exc)
        outcome = RunOutcome("failed", f"{step.name}: {exc}", attempts=record_.attempts)
    except RetryableStepError as exc:
        outcome = _retry_or_fail(deps, step, record_, str(exc), exc.retry_after)
    except Exception as exc:  # user code and dependencies: retry like a transient failure
        log.warning("step %s raised %s", step.name, type(exc).__name__, exc_info=exc)
        outcome = _retry_or_fail(deps, step, record_, f"{type(exc).__name__}: {exc}"[:500], None)
    record_.duration_ms = (time.perf_counter() - started) * 1000
    return outcome


def _retry_or_fail(deps: WorkerDeps, step: Step, record_: StepRun, error: str, retry_after: float | None) -> RunOutcome:
    budget = step.params.retries if step.params.retries is not None else deps.settings.job_max_tries
    record_.error = error
    if record_.attempts >= budget:
        record_.status = "failed"
        error = f"{step.name}: {error} (after {record_.attempts} attempts)"
        return RunOutcome("failed", error, attempts=record_.attempts)
    record_.status = "retrying"
    return RunOutcome("retry", f"{step.name}: {error}", retry_after, attempts=record_.attempts)
