"""docs/providers.md shows one real delivery per provider, taken from the test fixtures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from service.providers import PROVIDERS
from service.settings import Settings
from tests.support.docs_examples import DOC, EXAMPLES, NOT_REPLAYABLE, ROOT, current_section, render


def test_every_http_provider_has_an_example_delivery() -> None:
    assert set(EXAMPLES) | NOT_REPLAYABLE == set(PROVIDERS)


def test_the_examples_in_the_docs_are_the_fixtures() -> None:
    section = current_section(DOC.read_bytes().decode("utf-8"))
    assert section == render(), "docs/providers.md is stale: run `python -m tests.support.docs_examples`"


SECRET = "docs-example-secret-0123456789"
FE_KEY = "docs-example-forwardemail-key-0123"


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("openssl")), reason="needs curl and openssl")
@pytest.mark.parametrize("provider", list(EXAMPLES))
def test_each_documented_curl_delivers_its_example(provider: str, docs_sources: Path, live_app: str) -> None:
    command = _documented_curl(provider).replace("https://mailhook.example.com", live_app)
    env = {**os.environ, "HOOK_SECRET": SECRET, "FE_WEBHOOK_KEY": FE_KEY}
    result = subprocess.run(["sh", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "accepted", result.stdout


@pytest.fixture
def docs_sources(settings: Settings) -> Path:
    """Every provider as a source named after it (written before ``live_app`` starts)."""
    sources = "\n".join(
        f"  - {{name: {name}, provider: {name}, secrets: [{SECRET}]"
        + (f", signing_keys: [{FE_KEY}]}}" if name.startswith("forwardemail") else "}")
        for name in EXAMPLES
    )
    settings.config.write_text(f"sources:\n{sources}\n")
    return settings.config


def _documented_curl(provider: str) -> str:
    section = current_section(DOC.read_bytes().decode("utf-8")) or ""
    block = section.split(f"### {provider}\n", 1)[1]
    return block.split("```sh\n", 1)[1].split("\n```", 1)[0]
