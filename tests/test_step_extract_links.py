"""``extract_links``: verification links first, from parsed bodies when ``parse`` ran."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from service.settings import Settings
from tests.support.steps import step_context, store_email, worker_deps
from workers.deps import WorkerDeps
from workers.steps.extract_links import ExtractLinks, ExtractLinksParams

VERIFY = "https://acme.example/verify?token=k7Qm2Zx9Lp3Vn8Rt5Wy1"


@pytest.fixture
async def deps(settings: Settings, write_config: Callable[..., Path]) -> AsyncIterator[WorkerDeps]:
    write_config()
    async with worker_deps(settings) as built:
        yield built


async def test_extract_links_puts_the_verification_link_first_and_drops_unsubscribe(deps: WorkerDeps) -> None:
    message = store_email(deps)
    output = await ExtractLinks().run(step_context(deps, message))
    assert output is not None
    assert output["links"][0] == VERIFY
    assert not any("unsubscribe" in link for link in output["links"])


async def test_extract_links_prefers_parse_output_over_stored_bodies(deps: WorkerDeps) -> None:
    message = store_email(deps, text="no links stored", html=None)
    parsed = {"text": "Sign in: https://acme.example/magic/Zq8Lm3Nx7Rt2Vb5Kw9Hy4", "html": None}
    output = await ExtractLinks().run(step_context(deps, message, {"parse": parsed}))
    assert output == {"links": ["https://acme.example/magic/Zq8Lm3Nx7Rt2Vb5Kw9Hy4"]}


async def test_extract_links_honours_limit(deps: WorkerDeps) -> None:
    text = "\n".join(f"https://acme.example/page/{i}" for i in range(10))
    message = store_email(deps, text=text, html=None)
    output = await ExtractLinks(ExtractLinksParams(limit=3)).run(step_context(deps, message))
    assert output is not None and len(output["links"]) == 3


async def test_extract_links_without_bodies_is_empty(deps: WorkerDeps) -> None:
    message = store_email(deps, text=None, html=None)
    assert await ExtractLinks().run(step_context(deps, message)) == {"links": []}
