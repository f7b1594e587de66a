"""``template``: sandboxed Jinja2 to text or to a JSON object for later steps."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from service.settings import Settings
from tests.support.steps import step_context, store_email, worker_deps
from workers.deps import WorkerDeps
from workers.steps.base import PermanentStepError
from workers.steps.template import Template, TemplateParams

OUTPUTS = {"extract_otp": {"code": "048213"}}


@pytest.fixture
async def deps(settings: Settings, write_config: Callable[..., Path]) -> AsyncIterator[WorkerDeps]:
    write_config()
    async with worker_deps(settings) as built:
        yield built


def template(source: str, **params: Any) -> Template:
    return Template(TemplateParams(template=source, **params))


async def test_template_text(deps: WorkerDeps) -> None:
    step = template("{{ message.subject }}: {{ outputs.extract_otp.code }}\n")
    output = await step.run(step_context(deps, store_email(deps), OUTPUTS))
    assert output == {"text": "Your Acme sign-in code: 048213\n"}


async def test_template_json_output_is_the_object(deps: WorkerDeps) -> None:
    source = (
        '{"who": {{ message.from.address | tojson }}, "code": {{ message.code | tojson }},'
        ' "n": {{ message.to | length }}}'
    )
    output = await template(source, format="json").run(step_context(deps, store_email(deps), OUTPUTS))
    assert output == {"who": "accounts@acme.example", "code": "048213", "n": 1}


async def test_template_json_escapes_hostile_values(deps: WorkerDeps) -> None:
    message = store_email(deps, subject='quote " and </script> and \\ backslash')
    output = await template('{"s": {{ message.subject | tojson }}}', format="json").run(step_context(deps, message))
    assert output == {"s": 'quote " and </script> and \\ backslash'}


@pytest.mark.parametrize(
    ("source", "params", "match"),
    [
        ("not json", {"format": "json"}, "did not render JSON"),
        ("[1, 2]", {"format": "json"}, "not an object"),
        ("{{ nope }}", {"strict": True}, "UndefinedError"),
        ("{{ outputs.update({'x': 1}) }}", {}, "SecurityError"),
    ],
)
async def test_template_failures_are_permanent(
    deps: WorkerDeps, source: str, params: dict[str, Any], match: str
) -> None:
    with pytest.raises(PermanentStepError, match=match):
        await template(source, **params).run(step_context(deps, store_email(deps)))


async def test_template_sandbox_hides_python_internals(deps: WorkerDeps) -> None:
    source = "[{{ message.items.__globals__ }}][{{ message.__class__ }}]"
    assert await template(source).run(step_context(deps, store_email(deps))) == {"text": "[][]"}


async def test_template_lenient_by_default(deps: WorkerDeps) -> None:
    assert await template("[{{ nope }}]").run(step_context(deps, store_email(deps))) == {"text": "[]"}


@pytest.mark.parametrize("params", [{"template": "{% if %}"}, {"template": "x", "format": "yaml"}])
def test_template_bad_params_fail_validation(params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TemplateParams.model_validate(params)
