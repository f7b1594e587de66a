"""``python``: user callables by import path, sync or async, with clear failure classes."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from service.settings import Settings
from tests.support import user_steps
from tests.support.steps import run_pipeline_job, step_context, store_email, worker_deps
from workers.deps import WorkerDeps
from workers.pipeline.definition import Pipeline
from workers.steps.base import PermanentStepError
from workers.steps.python import Python, PythonParams

OUTPUTS = {"extract_otp": {"code": "048213"}}


@pytest.fixture
async def deps(settings: Settings, write_config: Callable[..., Path]) -> AsyncIterator[WorkerDeps]:
    write_config()
    async with worker_deps(settings) as built:
        yield built


def python_step(name: str, **args: Any) -> Python:
    return Python(PythonParams(callable=f"tests.support.user_steps:{name}", args=args))


async def test_python_sync_callable_runs_in_a_thread_with_args(deps: WorkerDeps) -> None:
    ctx = step_context(deps, store_email(deps), OUTPUTS)
    output = await python_step("summarise", prefix="New: ").run(ctx)
    assert output == {"summary": "New: Your Acme sign-in code", "code": "048213"}
    assert user_steps.calls[-1]["thread"] != threading.current_thread().name
    assert ctx.outputs["extract_otp"] == {"code": "048213"}, "user code gets a copy of earlier outputs"


async def test_python_async_callable_is_awaited(deps: WorkerDeps) -> None:
    message = store_email(deps)
    output = await python_step("summarise_async").run(step_context(deps, message, OUTPUTS))
    assert output == {"id": message.id, "steps": ["extract_otp"]}


async def test_python_attribute_path_and_none_result(deps: WorkerDeps) -> None:
    ctx = step_context(deps, store_email(deps))
    assert await python_step("Handler.handle").run(ctx) == {"handled": True}
    assert await python_step("nothing").run(ctx) is None


@pytest.mark.parametrize(
    ("path", "match"),
    [
        ("tests.support.no_such_module:f", "cannot import .*ModuleNotFoundError"),
        ("tests.support.user_steps:missing", "cannot import .*AttributeError"),
        ("tests.support.user_steps:NOT_CALLABLE", "is not callable"),
    ],
)
async def test_python_unimportable_callable_is_permanent(deps: WorkerDeps, path: str, match: str) -> None:
    with pytest.raises(PermanentStepError, match=match):
        await Python(PythonParams(callable=path)).run(step_context(deps, store_email(deps)))


@pytest.mark.parametrize(
    ("name", "match"),
    [("returns_list", "returned list"), ("returns_unserialisable", "not JSON-serialisable")],
)
async def test_python_bad_return_value_is_permanent(deps: WorkerDeps, name: str, match: str) -> None:
    with pytest.raises(PermanentStepError, match=match):
        await python_step(name).run(step_context(deps, store_email(deps)))


async def test_python_user_permanent_error_passes_through(deps: WorkerDeps) -> None:
    with pytest.raises(PermanentStepError, match="not for us"):
        await python_step("refuses").run(step_context(deps, store_email(deps)))


async def test_python_user_exception_is_retried_within_the_step_budget(deps: WorkerDeps) -> None:
    step = Python(PythonParams(callable="tests.support.user_steps:flaky", retries=2))
    pipeline, message = Pipeline("p", (step,)), store_email(deps)
    first = await run_pipeline_job(deps, message, pipeline, None)
    assert first.status == "retry" and "ConnectionError: crm is down" in (first.error or "")
    second = await run_pipeline_job(deps, message, pipeline, None)
    assert second.status == "failed" and "after 2 attempts" in (second.error or "")


async def test_python_output_feeds_later_steps(deps: WorkerDeps) -> None:
    first = python_step("summarise_async")
    second = python_step("summarise")
    pipeline, message = Pipeline("p", (first, second)), store_email(deps)
    assert (await run_pipeline_job(deps, message, pipeline, None)).status == "succeeded"
    assert user_steps.calls[-1]["outputs"]["python"]["id"] == message.id


@pytest.mark.parametrize("path", ["module", "module:", ":function", "a b:c", "mod:func()"])
def test_python_callable_must_be_an_import_path(path: str) -> None:
    with pytest.raises(ValidationError, match="package.module:function"):
        PythonParams(callable=path)
