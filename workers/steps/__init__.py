"""Step registry: a pipeline names its steps; this table finds their classes."""

from __future__ import annotations

from workers.steps.base import Step
from workers.steps.extract_otp import ExtractOtp
from workers.steps.parse import Parse
from workers.steps.slack import Slack

STEPS: dict[str, type[Step]] = {cls.name: cls for cls in (Parse, ExtractOtp, Slack)}

__all__ = ["STEPS", "Step"]
