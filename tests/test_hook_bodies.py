"""The hooks' request bodies in ``/openapi.json`` say what is true: every provider is described,
each example delivery is read by its provider's own module (and accepted by the real hook where
no signature is needed), and every fixture fits the documented shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator
from pydantic import SecretStr

from service.config import SourceConfig
from service.ingest.hookdoc import BODIES
from service.providers import BOUNCE_PROVIDERS, INBOUND_PROVIDERS, PROVIDERS, Delivery
from service.settings import Settings
from tests.conftest import FIXTURES
from tests.support.deliveries import multipart, urlencoded

EXAMPLES = [(name, media) for name, doc in BODIES.items() for media in doc.content]
#: Signed with no way around it (Forward Email bounces) or signed by SNS with a certificate fetched
#: from AWS: their examples are checked by their parsers only.
SIGNED_ONLY = {"forwardemail-bounces", "ses", "ses-inbound"}
SECRET = "hook-doc-secret-0123456789abcdef"


def encoded(example: Any, media: str) -> tuple[bytes, str]:
    if media == "application/x-www-form-urlencoded":
        return urlencoded(example), media
    if media == "multipart/form-data":
        return multipart(example)
    if isinstance(example, str):
        return example.encode(), media
    return json.dumps(example).encode(), media


def test_every_provider_has_its_body_described() -> None:
    assert set(BODIES) == set(PROVIDERS)
    assert all(doc.content and doc.description for doc in BODIES.values())


@pytest.mark.parametrize(("name", "media"), EXAMPLES)
def test_each_example_is_read_by_its_provider(name: str, media: str) -> None:
    schema, example = BODIES[name].content[media]
    body, content_type = encoded(example, media)
    source = SourceConfig(name="doc", provider=name, secrets=[SecretStr(SECRET)])
    provider = (INBOUND_PROVIDERS.get(name) or BOUNCE_PROVIDERS[name])()  # both kinds parse
    read = provider.parse(Delivery(source, body, {"content-type": content_type}, {}))
    assert len(read) >= 1
    if not isinstance(example, str):
        OAS30Validator(schema).validate(example)


def _fixture_files() -> list[tuple[str, Path]]:
    """(provider, fixture) for every JSON fixture that is a whole delivery body (the ``ses``
    fixtures are SES messages, which travel inside an SNS envelope's ``Message``)."""
    found = []
    for name in BODIES:
        if name == "ses":
            continue
        for path in sorted((FIXTURES / name.replace("-", "_")).glob("*.json")):
            found.append((name, path))
    return found


@pytest.mark.parametrize(("name", "path"), _fixture_files(), ids=lambda v: getattr(v, "name", v))
def test_every_fixture_fits_the_documented_shape(name: str, path: Path) -> None:
    data = json.loads(path.read_text())
    content = BODIES[name].content
    if "fields" in data and "_comment" in data:  # a form: its fields (files travel as parts)
        schema = content.get("multipart/form-data", content.get("application/x-www-form-urlencoded"))
        assert schema is not None
        OAS30Validator(schema[0]).validate(data["fields"])
    else:
        OAS30Validator(content["application/json"][0]).validate(data)


@pytest.fixture
def every_source(settings: Settings) -> None:
    sources = "\n".join(
        f'  - {{name: {name}, provider: {name}, secrets: ["{SECRET}"]}}' for name in BODIES if name not in SIGNED_ONLY
    )
    settings.config.write_text(f"sources:\n{sources}\n")


@pytest.mark.parametrize(("name", "media"), [(n, m) for n, m in EXAMPLES if n not in SIGNED_ONLY])
async def test_each_unsigned_example_is_stored_by_the_real_hook(
    every_source: None, client: httpx.AsyncClient, name: str, media: str
) -> None:
    body, content_type = encoded(BODIES[name].content[media][1], media)
    response = await client.post(f"/hooks/{name}/{SECRET}", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted"


async def test_openapi_describes_each_hook_body_and_the_secret(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    with_secret = document["paths"]["/hooks/{source}/{secret}"]
    without = document["paths"]["/hooks/{source}"]
    for operation in (with_secret["post"], with_secret["get"]):
        assert [p["name"] for p in operation["parameters"] if p["in"] == "path"] == ["source", "secret"]
        assert all(p.get("description") for p in operation["parameters"])
    for operation in (without["post"], without["get"]):
        assert [p["name"] for p in operation["parameters"] if p["in"] == "path"] == ["source"]
    content = with_secret["post"]["requestBody"]["content"]
    titled = {s["title"] for media in content.values() for s in media["schema"]["anyOf"]}
    assert titled == set(PROVIDERS)
    assert {"application/json", "message/rfc822", "multipart/form-data"} <= set(content)
    assert set(content["message/rfc822"]["examples"]) == {"raw"}
    assert "401" in with_secret["post"]["responses"] and "415" in with_secret["post"]["responses"]
