"""``python``: call your own function with the message and earlier outputs.

``callable: "package.module:function"`` (dotted attributes after the colon are followed, so
``"pkg.mod:Handler.handle"`` works). The function is called as
``function(message, outputs, **args)``: ``message`` is the normalized message JSON
(``workers.render.message_json``), ``outputs`` a copy of earlier steps' outputs by step name.
It may be sync (run in a thread, so it may block) or async, and returns a JSON object (a dict)
that becomes this step's output, or ``None``.

Failures: a callable that cannot be imported, or returns something that is not a JSON object,
is a configuration mistake and fails at once (``PermanentStepError``). Anything the function
raises is retried within the step's budget, except ``PermanentStepError``, which user code
raises to say "retrying will not help".
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import re
from collections.abc import Callable
from typing import Any

from pydantic import Field, field_validator

from workers.render.message_json import build_message_json
from workers.steps.base import PermanentStepError, Step, StepContext, StepParams

_IMPORT_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class PythonParams(StepParams):
    callable: str
    args: dict[str, Any] = Field(default_factory=dict)

    @field_validator("callable")
    @classmethod
    def _import_path(cls, value: str) -> str:
        if not _IMPORT_PATH.match(value):
            raise ValueError("write it as 'package.module:function'")
        return value


def load_callable(path: str) -> Callable[..., Any]:
    """Import ``module:attr.attr``; every failure is a ``PermanentStepError`` naming the path."""
    module_name, _, attributes = path.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for attribute in attributes.split("."):
            target = getattr(target, attribute)
    except Exception as exc:  # ImportError, AttributeError, and whatever the module raises on import
        raise PermanentStepError(f"cannot import {path!r}: {type(exc).__name__}: {exc}") from None
    if not callable(target):
        raise PermanentStepError(f"{path!r} is not callable")
    loaded: Callable[..., Any] = target
    return loaded


class Python(Step[PythonParams]):
    """Call a user function ``(message, outputs, **args)``; its dict return is the step output."""

    side_effects = True

    name = "python"

    async def run(self, ctx: StepContext) -> dict[str, Any] | None:
        function = load_callable(self.params.callable)
        message = await build_message_json(ctx)
        outputs = json.loads(json.dumps(ctx.outputs, default=str))  # user code cannot alter what later steps see
        if inspect.iscoroutinefunction(function):
            result = await function(message, outputs, **self.params.args)
        else:
            result = await asyncio.to_thread(function, message, outputs, **self.params.args)
            if inspect.isawaitable(result):
                result = await result
        return _checked(self.params.callable, result)


def _checked(path: str, result: Any) -> dict[str, Any] | None:
    if result is None:
        return None
    if not isinstance(result, dict):
        raise PermanentStepError(f"{path!r} returned {type(result).__name__}; return a dict or None")
    try:
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        raise PermanentStepError(f"{path!r} returned a dict that is not JSON-serialisable: {exc}") from None
    return result
