"""``/api/v1/addresses`` against a fake ImprovMX account API: make, list, remove, and how
provider and request failures answer."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from service.cli.web import create_web_app
from service.settings import Settings
from service.store.tokens import Scope
from tests.support.api import bearer, make_token
from tests.support.fakes.cases import WEBHOOK
from tests.support.fakes.improvmx import FakeImprovMX
from tests.support.servers import serve_in_thread


@pytest.fixture
def improvmx(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeImprovMX]:
    fake = FakeImprovMX()
    with serve_in_thread(fake.app()) as base:
        monkeypatch.setenv("IMX_KEY", fake.api_key)
        settings.config.write_text(
            textwrap.dedent(f"""
            addresses:
              - name: imx
                provider: improvmx
                api_key: ${{IMX_KEY}}
                base_url: {base}/v3
                domain: example.com
                deliver_to: {WEBHOOK}
                max_retries: 0
            """)
        )
        yield fake


@pytest.fixture
async def api(improvmx: FakeImprovMX, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    with serve_in_thread(create_web_app(settings)) as base:
        headers = bearer(make_token(settings, Scope.admin))
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=15) as client:
            yield client


async def test_create_list_delete(api: httpx.AsyncClient, improvmx: FakeImprovMX, settings: Settings) -> None:
    created = await api.post("/api/v1/addresses", json={"via": "imx", "local_part": "signup"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["address"], body["via"]) == ("signup@example.com", "imx")
    assert body["provider_ref"] and body["created_at"]
    assert improvmx.aliases["example.com"]["signup"]["forward"] == WEBHOOK
    reader = bearer(make_token(settings, Scope.read))
    listed = await api.get("/api/v1/addresses", headers=reader)
    assert [item["address"] for item in listed.json()["items"]] == ["signup@example.com"]
    assert (await api.post("/api/v1/addresses", json={"via": "imx"}, headers=reader)).status_code == 403
    assert (await api.delete("/api/v1/addresses/signup@example.com", headers=reader)).status_code == 403
    assert (await api.delete("/api/v1/addresses/signup@example.com")).status_code == 204
    assert "signup" not in improvmx.aliases["example.com"]
    assert (await api.get("/api/v1/addresses")).json() == {"items": []}


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"via": "nosuch"}, "via"),
        ({}, "via"),
        ({"via": "imx", "local_part": "a b"}, "local_part"),
        ({"via": "imx", "domain": "not a domain"}, "domain"),
        ({"via": "imx", "alias": "x"}, "alias"),
        ({"via": 3}, "via"),
    ],
)
async def test_bad_requests_name_the_field(api: httpx.AsyncClient, body: dict[str, object], parameter: str) -> None:
    response = await api.post("/api/v1/addresses", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["details"] == {"parameter": parameter}


async def test_provider_failures(api: httpx.AsyncClient, improvmx: FakeImprovMX) -> None:
    assert (await api.delete("/api/v1/addresses/nobody@example.com")).status_code == 404
    assert (await api.post("/api/v1/addresses", content=b"[1]")).json()["error"] == "bad_payload"
    improvmx.rate_limit_next(1, retry_after="7")
    limited = await api.post("/api/v1/addresses", json={"via": "imx"})
    assert limited.status_code == 503 and limited.headers["retry-after"] == "7"
    improvmx.api_key = "rotated"
    refused = await api.post("/api/v1/addresses", json={"via": "imx"})
    assert refused.status_code == 502
    assert refused.json()["error"] == "provider_error" and "refused the API key" in refused.json()["message"]
