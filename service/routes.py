"""The one route table of the web app."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service import health
from service.api import addresses, admin, files, messages, spec, wait
from service.ingest import hooks

SCHEMAS = spec.ApiSchemaGenerator(
    {"openapi": "3.0.3", "info": {"title": "Mailhook", "version": "0.1.0"}, "components": spec.COMPONENTS}
)


async def openapi(request: Request) -> Response:
    return JSONResponse(SCHEMAS.get_schema(routes=request.app.routes))


API = "/api/v1"

ROUTES = [
    Route("/livez", health.livez, methods=["GET"]),
    Route("/readyz", health.readyz, methods=["GET"]),
    Route("/hooks/{source}/{secret}", hooks.receive, methods=["POST"]),
    Route("/hooks/{source}", hooks.receive, methods=["POST"]),
    Route("/hooks/{source}/{secret}", hooks.probe, methods=["GET", "HEAD"]),
    Route("/hooks/{source}", hooks.probe, methods=["GET", "HEAD"]),
    Route(f"{API}/messages", messages.list_messages, methods=["GET"]),
    Route(f"{API}/messages/{{id}}", messages.get_one, methods=["GET"]),
    Route(f"{API}/messages/{{id}}", admin.delete_one, methods=["DELETE"]),
    Route(f"{API}/messages/{{id}}/raw", files.raw, methods=["GET"]),
    Route(f"{API}/messages/{{id}}/attachments/{{n:int}}", files.attachment, methods=["GET"]),
    Route(f"{API}/messages/{{id}}/replay", admin.replay, methods=["POST"]),
    Route(f"{API}/cursor", wait.cursor, methods=["GET"]),
    Route(f"{API}/wait", wait.wait, methods=["GET"]),
    Route(f"{API}/addresses", addresses.create, methods=["POST"]),
    Route(f"{API}/addresses", addresses.list_all, methods=["GET"]),
    Route(f"{API}/addresses/{{address}}", addresses.delete, methods=["DELETE"]),
    Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
]
