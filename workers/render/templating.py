"""Jinja2 for step parameters: one sandboxed environment, one context shape, errors as step errors.

Templates come from the operator's config, never from mail: message content is only ever
*data* in the context, so a hostile email cannot inject template code. The sandbox is still
the immutable one, because templates are pasted from documentation and shared between teams,
and a template that could mutate ``outputs`` would change what later steps see.

Autoescape is off: templates render JSON, plain text and Slack mrkdwn, not HTML. Use the
``tojson`` filter inside JSON templates and ``mrkdwn`` inside Slack text.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from jinja2 import ChainableUndefined, StrictUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import AfterValidator

from workers.render.message_json import build_message_json
from workers.steps.base import PermanentStepError, StepContext


def mrkdwn_escape(value: Any) -> str:
    """Slack mrkdwn treats <, > and & as control characters (links, mentions)."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@lru_cache(maxsize=2)
def environment(strict: bool = False) -> ImmutableSandboxedEnvironment:
    """The shared environment.

    By default a missing value renders as '' even through a chain (``outputs.extract_otp.code``
    when that step is not in the pipeline); ``strict`` makes any missing value an error.
    """
    env = ImmutableSandboxedEnvironment(
        autoescape=False,
        undefined=StrictUndefined if strict else ChainableUndefined,
        keep_trailing_newline=True,
    )
    env.filters["mrkdwn"] = mrkdwn_escape
    return env


@lru_cache(maxsize=512)
def compile_template(source: str, strict: bool = False) -> Template:
    """Compiling costs far more than rendering; configs reuse a handful of sources."""
    return environment(strict).from_string(source)


def check_template(source: str) -> str:
    """For pydantic validators: a syntax error is reported at config load, naming the key."""
    try:
        compile_template(source)
    except TemplateError as exc:
        raise ValueError(f"invalid template: {exc}") from None
    return source


def render(source: str, context: dict[str, Any], *, strict: bool = False) -> str:
    """Render or raise ``PermanentStepError``: the same template fails the same way on retry."""
    try:
        return compile_template(source, strict).render(context)
    except Exception as exc:  # TemplateError, and Python errors such as {{ 1 / 0 }}: all deterministic
        raise PermanentStepError(f"template failed: {type(exc).__name__}: {exc}") from None


def render_tree(value: Any, context: dict[str, Any], *, strict: bool = False) -> Any:
    """Render every string inside nested dicts/lists (Block Kit JSON written in YAML)."""
    if isinstance(value, str):
        return render(value, context, strict=strict)
    if isinstance(value, dict):
        return {key: render_tree(item, context, strict=strict) for key, item in value.items()}
    if isinstance(value, list):
        return [render_tree(item, context, strict=strict) for item in value]
    return value


def check_tree(value: Any) -> Any:
    """Validator twin of ``render_tree``: every string in the tree must compile."""
    if isinstance(value, str):
        check_template(value)
    elif isinstance(value, dict):
        for item in value.values():
            check_tree(item)
    elif isinstance(value, list):
        for item in value:
            check_tree(item)
    return value


#: A step parameter holding a template: a syntax error fails config loading, naming the key.
TemplateSource = Annotated[str, AfterValidator(check_template)]
#: A step parameter holding JSON (Slack's Block Kit) whose every string is a template.
TemplateTree = Annotated[list[dict[str, Any]], AfterValidator(check_tree)]


async def template_context(ctx: StepContext) -> dict[str, Any]:
    """What every template sees: ``message`` (the normalized JSON) and ``outputs`` by step name."""
    return {"message": await build_message_json(ctx), "outputs": ctx.outputs}
