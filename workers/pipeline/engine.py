"""Running a pipeline over a message, step by step, recording each step's outcome.

Outputs of succeeded steps are reloaded instead of re-running them, so a retried job resumes at
the step that failed. Each step has its own attempt budget; when it is spent the run is
dead-lettered (``failed``) and waits for ``mailhook replay``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from service.models import Message, StepRun
from workers.deps import WorkerDeps
from workers.pipeline.definition import Pipeline
from workers.pipeline.runs import bounded_output, finish_run, open_run, save_step, step_runs
from workers.steps.base import PermanentStepError, RetryableStepError, Step, StepContext, StopPipeline

log = logging.getLogger("mailhook.pipeline")


@dataclass(frozen=True)
class RunOutcome:
    status: str  # "succeeded" | "dropped" | "retry" | "failed"
    error: str | None = None
    retry_after: float | None = None
    attempts: int = 0


async def run_pipeline(deps: WorkerDeps, message: Message, pipeline: Pipeline, route: str | None) -> RunOutcome:
    run = open_run(deps.engine, message.id, pipeline.name, route)
    assert run.id is not None
    done = step_runs(deps.engine, run.id)
    ctx = StepContext(message=message, deps=deps, pipeline=pipeline.name, route=route)
    for position, step in enumerate(pipeline.steps):
        record = done.get(position) or StepRun(pipeline_run_id=run.id, position=position, name=step.name)
        if record.status == "succeeded":
            ctx.outputs[step.name] = record.output
            continue
        outcome = await _run_step(deps, step, record, ctx)
        if outcome is not None:
            finish_run(deps.engine, run.id, "retrying" if outcome.status == "retry" else outcome.status, outcome.error)
            return outcome
    finish_run(deps.engine, run.id, "succeeded")
    return RunOutcome("succeeded")


async def _run_step(deps: WorkerDeps, step: Step, record: StepRun, ctx: StepContext) -> RunOutcome | None:
    """Run one step; ``None`` means "go on", an outcome ends this attempt of the run."""
    record.attempts += 1
    record.status = "running"
    record = save_step(deps.engine, record)
    started = time.perf_counter()
    outcome: RunOutcome | None = None
    try:
        output = await step.run(ctx)
        ctx.outputs[step.name] = output
        record.output = bounded_output(output)
        record.status, record.error = "succeeded", None
    except StopPipeline as exc:
        record.status, record.error = "succeeded", None
        outcome = RunOutcome("dropped", str(exc) or None)
    except PermanentStepError as exc:
        record.status, record.error = "failed", str(exc)
        outcome = RunOutcome("failed", f"{step.name}: {exc}", attempts=record.attempts)
    except RetryableStepError as exc:
        outcome = _retry_or_fail(deps, step, record, str(exc), exc.retry_after)
    except Exception as exc:  # user code and dependencies: retry like a transient failure
        log.warning("step %s raised %s", step.name, type(exc).__name__, exc_info=exc)
        outcome = _retry_or_fail(deps, step, record, f"{type(exc).__name__}: {exc}"[:500], None)
    record.duration_ms = (time.perf_counter() - started) * 1000
    save_step(deps.engine, record)
    return outcome


def _retry_or_fail(deps: WorkerDeps, step: Step, record: StepRun, error: str, retry_after: float | None) -> RunOutcome:
    budget = step.params.retries if step.params.retries is not None else deps.settings.job_max_tries
    record.error = error
    if record.attempts >= budget:
        record.status = "failed"
        return RunOutcome(
            "failed", f"{step.name}: {error} (after {record.attempts} attempts)", attempts=record.attempts
        )
    record.status = "retrying"
    return RunOutcome("retry", f"{step.name}: {error}", retry_after, attempts=record.attempts)
