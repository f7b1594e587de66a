"""Step registry: a pipeline names its steps; this table finds their classes."""

from __future__ import annotations

from typing import Any

from workers.steps.base import Step
from workers.steps.drop import Drop
from workers.steps.extract_links import ExtractLinks
from workers.steps.extract_otp import ExtractOtp
from workers.steps.forward_http import ForwardHttp
from workers.steps.forward_smtp import ForwardSmtp
from workers.steps.parse import Parse
from workers.steps.python import Python
from workers.steps.slack import Slack
from workers.steps.tag import Tag
from workers.steps.template import Template

STEPS: dict[str, type[Step[Any]]] = {
    cls.name: cls
    for cls in (Parse, ExtractOtp, ExtractLinks, Template, Tag, Drop, Slack, ForwardHttp, ForwardSmtp, Python)
}

__all__ = ["STEPS", "Step"]
