"""Running a pipeline over a message, step by step, recording each step's outcome.

Outputs of succeeded steps are reloaded instead of re-running them, so a retried job resumes at
the step that failed. Each step has its own attempt budget; when it is spent the run is
dead-lettered (``failed``) and waits for ``mailhook replay``.

Writes are grouped: a run is recorded once, when it ends (step records, run status and message
status together), and a step with side effects has its success committed before the next step
starts, so a retried job never repeats it. Pure steps are simply run again after a crash. The
writes go through the worker's ``TransactionBatcher``, so concurrent jobs share commits.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from service.store.models import Attachment, Message, MessageStatus
from service.store.runs import RunState, RunWrite, StepRecord, Write, bounded_output, save_run
from workers.deps import WorkerDeps
from workers.pipeline.definition import Pipeline
from workers.steps.base import PermanentStepError, RetryableStepError, Step, StepContext, StopPipeline

log = logging.getLogger("mailhook.pipeline")


@dataclass(frozen=True)
class RunOutcome:
    status: str  # "succeeded" | "dropped" | "retry" | "failed"
    error: str | None = None
    retry_after: float | None = None
    attempts: int = 0


_RUN_STATUS = {"succeeded": "succeeded", "dropped": "dropped", "failed": "failed", "retry": "retrying"}


@dataclass
class JobRun:
    """What one job knows while it runs a message's pipelines."""

    deps: WorkerDeps
    message: Message
    attachments: list[Attachment]
    runs: dict[str, RunState]
    #: Writes waiting to ride along with the next recorded stretch (hydrated fields).
    pending: list[Write]

    async def record(self, write: RunWrite) -> None:
        write.extra, self.pending = self.pending, []
        write.run.id = await self.deps.txn.run(lambda conn: save_run(conn, write))
        for step in write.steps:
            step.stored = True


async def run_pipeline(job: JobRun, pipeline: Pipeline, route: str | None, *, last: bool = True) -> RunOutcome:
    """Run (or resume) ``pipeline``; ``last`` says whether this run closes the job, so the
    message's status is written in the same transaction as the run's."""
    run = job.runs.get(pipeline.name)
    if run is not None and run.status in ("succeeded", "dropped"):
        if last:
            await job.record(RunWrite(job.message.id, run, [], message_status=MessageStatus.processed))
        return RunOutcome(run.status)
    if run is None:
        run = job.runs[pipeline.name] = RunState(pipeline.name, route)
    run.status = "running"
    ctx = StepContext(
        message=job.message, deps=job.deps, pipeline=pipeline.name, route=route, attachments=job.attachments
    )
    unsaved: list[StepRecord] = []
    outcome = RunOutcome("succeeded")
    for position, step in enumerate(pipeline.steps):
        record_ = run.steps.get(position) or StepRecord(position, step.name)
        run.steps[position] = record_
        if record_.status == "succeeded":
            ctx.outputs[step.name] = record_.output
            continue
        result = await _run_step(job.deps, step, record_, ctx)
        unsaved.append(record_)
        if result is not None:
            outcome = result
            break
        if step.side_effects and position < len(pipeline.steps) - 1:
            await job.record(RunWrite(job.message.id, run, unsaved))
            unsaved = []
    run.status = _RUN_STATUS[outcome.status]
    status = _message_status(outcome, last)
    await job.record(
        RunWrite(job.message.id, run, unsaved, outcome.error, message_status=status, message_error=outcome.error)
    )
    return outcome


def _message_status(outcome: RunOutcome, last: bool) -> MessageStatus | None:
    if outcome.status == "failed":
        return MessageStatus.failed
    if outcome.status == "retry":
        return MessageStatus.processing
    return MessageStatus.processed if last else None


async def _run_step(deps: WorkerDeps, step: Step[Any], record_: StepRecord, ctx: StepContext) -> RunOutcome | None:
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


def _retry_or_fail(
    deps: WorkerDeps, step: Step[Any], record_: StepRecord, error: str, retry_after: float | None
) -> RunOutcome:
    budget = step.params.retries if step.params.retries is not None else deps.settings.job_max_tries
    record_.error = error
    if record_.attempts >= budget:
        record_.status = "failed"
        error = f"{step.name}: {error} (after {record_.attempts} attempts)"
        return RunOutcome("failed", error, attempts=record_.attempts)
    record_.status = "retrying"
    return RunOutcome("retry", f"{step.name}: {error}", retry_after, attempts=record_.attempts)
