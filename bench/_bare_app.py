"""The baseline: a bare Starlette endpoint on the same route shape that only reads the body and
answers 200 JSON. Whatever Mailhook costs beyond this is Mailhook's own work."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def receive(request: Request) -> Response:
    body = await request.body()
    return JSONResponse({"status": "accepted", "bytes": len(body)})


async def livez(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/livez", livez, methods=["GET"]),
        Route("/hooks/{source}/{secret}", receive, methods=["POST"]),
    ]
)
