"""`/openapi.json` lists every route with its parameters and responses and is valid OpenAPI 3."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate
from starlette.routing import Route

from service.settings import Settings
from service.store.tokens import Scope
from service.web.routes import ROUTES
from tests.conftest import FIXTURES
from tests.support.api import RAW_SOURCE, bearer, deliver, deliver_raw, make_token


async def test_openapi_document_is_valid_and_complete(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    validate(document)
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    served = {
        (re.sub(r":\w+}", "}", route.path), method.lower())
        for route in ROUTES
        if isinstance(route, Route) and route.include_in_schema
        for method in route.methods or ()
        if method != "HEAD"
    }
    assert served - documented == set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("responses"), (path, method)
            if path.startswith("/api/"):
                assert "400" in operation["responses"] and "401" in operation["responses"], (path, method)
                assert operation["security"] == [{"bearer": []}]
    wait = document["paths"]["/api/v1/wait"]["get"]
    assert {p["name"] for p in wait["parameters"]} == {"to", "from", "subject", "since", "timeout", "claim"}
    assert "408" in wait["responses"]


def _resolved(node: Any, components: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _resolved(components[node["$ref"].rsplit("/", 1)[-1]], components)
        return {key: _resolved(value, components) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolved(value, components) for value in node]
    return node


@pytest.fixture
def raw_config(settings: Settings) -> None:
    settings.config.write_text(RAW_SOURCE)


async def test_real_answers_match_their_documented_schemas(
    raw_config: None, client: httpx.AsyncClient, settings: Settings, run_worker: Callable[..., Any]
) -> None:
    """Fuzzing rarely guesses an existing id, so the 200 shapes are checked here on real mail
    (a provider delivery with attachments after the worker ran, and a raw MIME one before)."""
    client.headers.update(bearer(make_token(settings)))
    document = (await client.get("/openapi.json")).json()
    components = document["components"]["schemas"]

    def check(response: httpx.Response, name: str) -> None:
        assert response.status_code in (200, 408), response.text
        OAS30Validator(_resolved(components[name], components)).validate(response.json())

    cursor = (await client.get("/api/v1/cursor")).json()["cursor"]
    check(await client.get("/api/v1/cursor"), "Cursor")
    provider = await deliver(client, "shape@qa.example.com")
    await run_worker()
    raw = await deliver_raw(client, "shape@qa.example.com")
    check(await client.get("/api/v1/messages", params={"limit": 1}), "Page")
    check(await client.get("/api/v1/messages"), "Page")
    for mid in (provider, raw):
        check(await client.get(f"/api/v1/messages/{mid}"), "Detail")
    check(await client.get("/api/v1/wait", params={"to": "shape@qa.example.com", "since": cursor}), "Waited")
    check(await client.get("/api/v1/wait", params={"to": "none@qa.example.com", "timeout": 0}), "Error")


@pytest.fixture
def bounce_config(settings: Settings) -> None:
    settings.config.write_text(
        'sources:\n  - {name: pm, provider: postmark-bounces, secrets: ["pm-secret-0123456789abcdef"]}\n'
    )


async def test_bounce_and_suppression_answers_match_their_documented_schemas(
    bounce_config: None, client: httpx.AsyncClient, settings: Settings
) -> None:
    """The fuzzer's database holds no bounce: real events (a hook's, with every field) here."""
    client.headers.update(bearer(make_token(settings, Scope.admin)))
    document = (await client.get("/openapi.json")).json()
    components = document["components"]["schemas"]

    def check(response: httpx.Response, name: str) -> None:
        assert response.status_code in (200, 201), response.text
        OAS30Validator(_resolved(components[name], components)).validate(response.json())

    for name in ("hard_bounce.json", "spam_complaint.json"):
        body = (FIXTURES / "postmark_bounces" / name).read_bytes()
        assert (await client.post("/hooks/pm/pm-secret-0123456789abcdef", content=body)).status_code == 200
    check(await client.get("/api/v1/bounces"), "BouncePage")
    check(await client.get("/api/v1/bounces", params={"limit": 1}), "BouncePage")
    check(await client.post("/api/v1/suppressions", json={"address": "a@example.org"}), "Suppression")
    check(await client.get("/api/v1/suppressions", params={"include_expired": "true", "limit": 1}), "SuppressionPage")
