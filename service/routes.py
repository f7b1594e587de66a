"""The one route table of the web app."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.schemas import SchemaGenerator

from service import health
from service.ingest import hooks

SCHEMAS = SchemaGenerator({"openapi": "3.0.0", "info": {"title": "Mailhook", "version": "0.1.0"}})


async def openapi(request: Request) -> Response:
    return JSONResponse(SCHEMAS.get_schema(routes=request.app.routes))


ROUTES = [
    Route("/livez", health.livez, methods=["GET"]),
    Route("/readyz", health.readyz, methods=["GET"]),
    Route("/hooks/{source}/{secret}", hooks.receive, methods=["POST"]),
    Route("/hooks/{source}", hooks.receive, methods=["POST"]),
    Route("/hooks/{source}/{secret}", hooks.probe, methods=["GET", "HEAD"]),
    Route("/hooks/{source}", hooks.probe, methods=["GET", "HEAD"]),
    Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
]
