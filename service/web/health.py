"""Liveness (the process answers) and readiness (its database and Redis answer)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.web.state import AppState


async def livez(request: Request) -> Response:
    """---
    summary: Liveness
    responses:
      200: {description: The process answers}
    """
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """---
    summary: Readiness (database and Redis)
    responses:
      200: {description: "Both reachable: {status, checks}"}
      503: {description: "One is not: {status, checks}"}
    """
    state: AppState = request.app.state.mailhook
    checks = {"database": await _database(state), "redis": await _redis(state)}
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503)


async def _database(state: AppState) -> str:
    def ping() -> None:
        with state.ingest.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(asyncio.to_thread(ping), 2.0)
    except Exception as exc:  # any failure means "not ready"; the kind is what operators need
        return f"error: {type(exc).__name__}"
    return "ok"


async def _redis(state: AppState) -> str:
    try:
        await asyncio.wait_for(state.ingest.redis.ping(), 2.0)
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"
