"""The OpenAPI operations of the hook endpoints (``/hooks/{source}[/{secret}]``).

A hook's body is whatever the source's provider sends, so the request body lists, per media
type, the shape of every provider that sends it (``anyOf``, each titled with the provider's
name as used in ``provider:``) and one example delivery per provider. The shapes live next to
the providers (``service.providers.bodies`` and ``bounce_bodies``); ``/openapi.json`` reads them
from here through the route table.
"""

from __future__ import annotations

from typing import Any

from service.providers.bodies import INBOUND_BODIES
from service.providers.bodyschema import BodyDoc
from service.providers.bounce_bodies import BOUNCE_BODIES

#: Every provider's body document, by ``provider:`` name.
BODIES: dict[str, BodyDoc] = {**INBOUND_BODIES, **BOUNCE_BODIES}

#: The hooks' path parameters. Both routes share these operations; the schema generator keeps
#: only the parameters a path has (``/hooks/{source}`` has no secret segment).
PATH_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "source",
        "in": "path",
        "required": True,
        "description": "The source's name in the config file (`sources: - name:`); its `provider:` decides the body",
        "schema": {"type": "string"},
    },
    {
        "name": "secret",
        "in": "path",
        "required": True,
        "description": "One of the source's `secrets` (keep the URL secret). Without this segment, send the "
        "secret as the HTTP Basic password",
        "schema": {"type": "string"},
    },
]


def request_body() -> dict[str, Any]:
    content: dict[str, Any] = {}
    for name, doc in BODIES.items():
        for media, (schema, example) in doc.content.items():
            entry = content.setdefault(media, {"schema": {"anyOf": []}, "examples": {}})
            entry["schema"]["anyOf"].append({**schema, "title": name, "description": doc.description})
            entry["examples"][name] = {"summary": f"{name}: {doc.description}", "value": example}
    return {
        "required": True,
        "description": "What the source's provider sends. Each media type lists the shape of every provider "
        "that sends it (anyOf, titled by the `provider:` name) and an example delivery of each.",
        "content": content,
    }


_RAW_ONLY = "Only for sources of provider raw: "
_ERROR = "#/components/schemas/Error"

RECEIVE: dict[str, Any] = {
    "summary": "Deliver mail or bounce events (provider webhook)",
    "description": "The source's provider decides how the body is read (see the request body). The secret is "
    "the last path segment, or the HTTP Basic password on /hooks/{source}; providers that sign add "
    "their signature as their documentation says. 200 means durably stored.",
    "parameters": [
        *PATH_PARAMETERS,
        {
            "name": "to",
            "in": "query",
            "required": False,
            "description": _RAW_ONLY + "the envelope recipients (repeated or comma-separated)",
            "schema": {"type": "string"},
        },
        {
            "name": "from",
            "in": "query",
            "required": False,
            "description": _RAW_ONLY + "the envelope sender",
            "schema": {"type": "string"},
        },
    ],
    "requestBody": request_body(),
    "responses": {
        "200": {
            "description": "Stored (or a duplicate of a stored delivery): {status, messages: [{id, duplicate}]} for "
            "mail, {status, events: [{id, duplicate}]} for bounce providers; {status} for handshakes",
            "content": {"application/json": {"schema": {"type": "object", "required": ["status"]}}},
        },
        **{
            status: {"description": text, "content": {"application/json": {"schema": {"$ref": _ERROR}}}}
            for status, text in (
                ("400", "Malformed body or not the provider's shape"),
                ("401", "Unknown source, wrong secret or bad signature"),
                ("403", "Caller address not in the source's allow-list, or an SNS topic not configured"),
                ("413", "Body over the size limit"),
                ("415", "Content type the provider does not send"),
                ("503", "Storage unavailable (or a certificate could not be fetched); retry later"),
            )
        },
    },
}

PROBE: dict[str, Any] = {
    "summary": "Probe a hook URL",
    "description": "Providers try a URL with GET or HEAD before saving it: always 200, nothing checked or stored.",
    "parameters": PATH_PARAMETERS,
    "responses": {"200": {"description": "Always; no side effect"}},
}
