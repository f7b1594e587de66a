"""The shipped example config is valid as shipped and with every optional section switched on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.config import ConfigError, parse_config
from service.providers import PROVIDERS
from workers.pipeline.config import compile_config

EXAMPLE = Path(__file__).resolve().parents[1] / "mailhook.example.yaml"


def _switched_on(text: str) -> str:
    """Remove "# " before commented-out YAML (keys and list items), leaving prose comments."""
    return re.sub(r"^(\s*)# (?=[a-z_]+:|- |\s)", r"\1", text, flags=re.M)


@pytest.mark.parametrize("variant", ["as shipped", "all sections on"])
def test_example_config_is_valid(variant: str) -> None:
    text = EXAMPLE.read_text()
    if variant == "all sections on":
        text = _switched_on(text)
    env = {name: "x" * 24 for name in re.findall(r"\$\{(\w+)", text)}
    env["SLACK_WEBHOOK_URL"] = "https://hooks.slack.com/services/T0/B0/X"
    env["ARCHIVE_WEBHOOK_SECRET"] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    config = parse_config(text, environ=env, providers=PROVIDERS)
    compiled = compile_config(config)
    if variant == "all sections on":
        assert len(config.sources) == 6 and config.smtp is not None
        assert len(config.bounce_logs) == 2 and config.suppression.expire_after_days == 90
        assert set(compiled.pipelines) == {"qa", "archive", "bounce-alert", "default"}
        assert compiled.routes is not None and compiled.routes.root[0].name == "hard-bounces"


def test_unknown_provider_is_refused_when_the_registry_is_passed() -> None:
    text = "sources: [{name: a, provider: nosuch, secrets: [s-0123456789abcdef]}]"
    with pytest.raises(ConfigError, match="unknown provider 'nosuch'"):
        parse_config(text, providers=PROVIDERS)
