"""Compiling the config's ``pipelines:`` and ``routes:`` into runnable objects.

Compilation happens once per config version (start-up and SIGHUP); a mistake is reported as a
``ConfigError`` naming the pipeline, the step position and the parameter, and the previous
config stays in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from service.config import AppConfig, ConfigError, ConfigHolder
from workers.pipeline.definition import Pipeline, default_pipeline
from workers.routing import RouteTable
from workers.steps.registry import STEPS, Step

DEFAULT = "default"


@dataclass(frozen=True)
class CompiledConfig:
    pipelines: dict[str, Pipeline]
    routes: RouteTable | None  # None: no routes configured, everything runs ``default``


class CompiledConfigHolder:
    """Pipelines and routes of the config in force (arq ``ctx['compiled']``), compiled once per
    config version: a SIGHUP swaps ``ConfigHolder.current`` and the next job compiles it."""

    def __init__(self, config: ConfigHolder) -> None:
        self._config = config
        self._compiled: tuple[AppConfig, CompiledConfig] | None = None

    @property
    def current(self) -> CompiledConfig:
        current = self._config.current
        if self._compiled is None or self._compiled[0] is not current:
            self._compiled = (current, compile_config(current))
        return self._compiled[1]


def compile_config(config: AppConfig) -> CompiledConfig:
    pipelines = {name: _pipeline(name, steps) for name, steps in config.pipelines.items()}
    pipelines.setdefault(DEFAULT, default_pipeline(config))
    routes = _routes(config.routes) if config.routes else None
    if routes is not None:
        for position, route in enumerate(routes):
            if route.pipeline not in pipelines:
                known = ", ".join(sorted(pipelines))
                where = f"routes.{position} ({route.name})"
                raise ConfigError(f"{where}: unknown pipeline {route.pipeline!r}; known: {known}")
    return CompiledConfig(pipelines=pipelines, routes=routes)


def _routes(raw: list[dict[str, Any]]) -> RouteTable:
    try:
        return RouteTable.from_list(raw)
    except ValidationError as exc:
        lines = [f"routes: {exc.error_count()} problem(s):"]
        for err in exc.errors(include_url=False, include_input=False):
            where = ".".join(str(part) for part in err["loc"])
            lines.append(f"  - routes.{where}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from None


def _pipeline(name: str, raw_steps: list[str | dict[str, Any]]) -> Pipeline:
    if not raw_steps:
        raise ConfigError(f"pipelines.{name}: a pipeline needs at least one step")
    return Pipeline(name, tuple(_step(name, position, raw) for position, raw in enumerate(raw_steps)))


def _step(pipeline: str, position: int, raw: str | dict[str, Any]) -> Step[Any]:
    """Accepts ``parse``, ``{step: slack, text: …}`` and ``{slack: {text: …}}``."""
    where = f"pipelines.{pipeline}.{position}"
    step_name, params = _split_step(where, raw)
    step_class = STEPS.get(step_name)
    if step_class is None:
        raise ConfigError(f"{where}: unknown step {step_name!r}; known: {', '.join(sorted(STEPS))}")
    try:
        return step_class(step_class.Params.model_validate(params))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(params)'}: {err['msg']}"
            for err in exc.errors(include_url=False, include_input=False)
        )
        raise ConfigError(f"{where} ({step_name}): {problems}") from None


def _split_step(where: str, raw: str | dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if isinstance(raw, str):
        return raw, {}
    if "step" in raw:
        params = {k: v for k, v in raw.items() if k != "step"}
        return str(raw["step"]), params
    if len(raw) == 1:
        [(name, params)] = raw.items()
        if params is None:
            return str(name), {}
        if isinstance(params, dict):
            return str(name), params
    raise ConfigError(f"{where}: write a step as a name, {{step: NAME, …params}} or {{NAME: {{…params}}}}")
