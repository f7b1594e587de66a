"""A pipeline as configured: a name and its ordered, parameterised step instances."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.config import AppConfig
from workers.steps.registry import STEPS, Step


@dataclass(frozen=True)
class Pipeline:
    name: str
    steps: tuple[Step[Any], ...]


def default_pipeline(config: AppConfig) -> Pipeline:
    """What runs when the config names no pipelines: parse, find the code, tell Slack if set."""
    names = ["parse", "extract_otp"] + (["slack"] if config.slack else [])
    return Pipeline("default", tuple(STEPS[name]() for name in names))
