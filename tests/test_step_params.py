"""A step's ``Params`` (what the config's parameters are validated with) comes from ``Step[P]``."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import pytest

from workers.steps.base import Step, StepContext, StepParams
from workers.steps.drop import DropParams
from workers.steps.extract_links import ExtractLinksParams
from workers.steps.forward_http import ForwardHttpParams
from workers.steps.forward_smtp import ForwardSmtpParams
from workers.steps.parse import ParseParams
from workers.steps.python import PythonParams
from workers.steps.registry import STEPS
from workers.steps.slack import SlackParams
from workers.steps.tag import TagParams
from workers.steps.template import TemplateParams

# What each step said with ``Params = …`` before the generic argument was read.
EXPECTED = {
    "drop": DropParams,
    "extract_links": ExtractLinksParams,
    "extract_otp": StepParams,
    "forward_http": ForwardHttpParams,
    "forward_smtp": ForwardSmtpParams,
    "parse": ParseParams,
    "python": PythonParams,
    "slack": SlackParams,
    "tag": TagParams,
    "template": TemplateParams,
}

Q = TypeVar("Q", bound=StepParams)


class ProbeParams(StepParams):
    limit: int = 3


class Probe(Step[ProbeParams]):
    name = "probe"

    async def run(self, ctx: StepContext) -> dict[str, Any] | None:
        return None


class LoudProbe(Probe):
    name = "loud_probe"


class Bare(Step):
    name = "bare"

    async def run(self, ctx: StepContext) -> dict[str, Any] | None:
        return None


def test_every_registered_step_validates_with_the_params_it_names() -> None:
    assert {name: cls.Params for name, cls in STEPS.items()} == EXPECTED


def test_params_come_from_the_generic_argument_and_are_inherited() -> None:
    assert Probe.Params is ProbeParams
    assert type(Probe().params) is ProbeParams
    assert LoudProbe.Params is ProbeParams
    assert Bare.Params is StepParams


def test_a_generic_intermediate_base_passes_the_argument_through() -> None:
    class Middle(Step[Q], Generic[Q]):
        name = "middle"

        async def run(self, ctx: StepContext) -> dict[str, Any] | None:
            return None

    class Concrete(Middle[ProbeParams]):
        name = "concrete"

    assert Middle.Params is StepParams
    assert Concrete.Params is ProbeParams
    assert Concrete.Params.model_validate({"limit": 5}) == ProbeParams(limit=5)
    with pytest.raises(ValueError, match="extra"):
        Concrete.Params.model_validate({"unknown": 1})
