"""schemathesis fuzzes every /api/v1 route of the running app against its own OpenAPI document:
no 5xx, and every answer (status, content type, body) is one the document describes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.cli.web import create_web_app
from service.settings import Settings
from service.store.tokens import Scope
from tests.support.api import RAW_SOURCE, bearer, make_token
from tests.support.servers import serve_in_thread

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def fuzzed_app(settings: Settings) -> Iterator[tuple[str, dict[str, str]]]:
    settings.config.write_text(RAW_SOURCE)
    # Waits give up at once: the fuzzer asks for timeouts up to a day.
    with serve_in_thread(create_web_app(settings.model_copy(update={"max_wait_s": 0.05}))) as base:
        yield base, bearer(make_token(settings, Scope.admin))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_api_routes_survive_fuzzing(fuzzed_app: tuple[str, dict[str, str]]) -> None:
    # schemathesis's own pytest loader (``from_fixture``) reads a private pytest attribute that
    # pytest 9.2 renamed; driving hypothesis per operation needs no plugin internals.
    base, headers = fuzzed_app
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json").include(path_regex="^/api/v1/")
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # an Err: the schema has an operation it cannot load
        operations.append(result.ok())
    assert len(operations) == 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=base, headers=headers, checks=CHECKS)

        fuzz()
