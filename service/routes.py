"""The one route table of the web app."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from service import health
from service.api import addresses, admin, files, messages, spec, suppressions, wait
from service.api import bounces as api_bounces
from service.ingest import hooks
from service.ui import body, bounces, events, inbox, message, ops, signin
from service.ui.errors import PageNotFound
from service.ui.pages import UiStatic

SCHEMAS = spec.ApiSchemaGenerator(
    {"openapi": "3.0.3", "info": {"title": "Mailhook", "version": "0.1.0"}, "components": spec.COMPONENTS}
)


async def openapi(request: Request) -> Response:
    return JSONResponse(SCHEMAS.get_schema(routes=request.app.routes))


async def to_inbox(request: Request) -> Response:
    """``/`` (and ``/inbox``, where people look first) lead to the web inbox."""
    return RedirectResponse("/ui", 302)


async def ui_not_found(request: Request) -> Response:
    raise PageNotFound("there is no such page")


API = "/api/v1"
UI = "/ui"
MSG = f"{UI}/messages/{{id}}"

#: The web inbox (``service.ui``): HTML for people, so none of it is in the OpenAPI description.
UI_ROUTES: list[BaseRoute] = [
    Route("/", to_inbox, methods=["GET"], include_in_schema=False),
    Route("/inbox", to_inbox, methods=["GET"], include_in_schema=False),
    Route(UI, inbox.inbox, methods=["GET"], include_in_schema=False),
    Route(f"{UI}/inbox/rows", inbox.rows, methods=["GET"], include_in_schema=False),
    Route(f"{UI}/events", events.events, methods=["GET"], include_in_schema=False),
    Route(f"{UI}/signin", signin.signin_page, methods=["GET"], include_in_schema=False),
    Route(f"{UI}/signin", signin.signin, methods=["POST"], include_in_schema=False),
    Route(f"{UI}/signout", signin.signout, methods=["POST"], include_in_schema=False),
    Route(MSG, message.message_page, methods=["GET"], include_in_schema=False),
    Route(f"{MSG}/body", body.html_body, methods=["GET"], include_in_schema=False),
    Route(f"{MSG}/raw", body.raw, methods=["GET"], include_in_schema=False),
    Route(f"{MSG}/attachments/{{n:int}}", body.attachment, methods=["GET"], include_in_schema=False),
    Route(f"{MSG}/replay", message.replay, methods=["POST"], include_in_schema=False),
    Route(f"{MSG}/unread", message.mark_unread, methods=["POST"], include_in_schema=False),
    Route(f"{MSG}/delete", message.delete, methods=["POST"], include_in_schema=False),
    Route(f"{UI}/dead-letters", ops.dead_letters, methods=["GET"], include_in_schema=False),
    Route(f"{UI}/dead-letters/replay", ops.replay_all, methods=["POST"], include_in_schema=False),
    Route(f"{UI}/sources", ops.sources, methods=["GET"], include_in_schema=False),
    Route(f"{UI}/sources/{{name}}/webhook-url", ops.webhook_url, methods=["POST"], include_in_schema=False),
    Route(f"{UI}/status", ops.status, methods=["GET"], include_in_schema=False),
    Route(f"{UI}/bounces", bounces.bounces, methods=["GET"], include_in_schema=False),
    Route(f"{UI}/suppressions", bounces.suppressions, methods=["GET"], include_in_schema=False),
    Route(f"{UI}/suppressions/add", bounces.add, methods=["POST"], include_in_schema=False),
    Route(f"{UI}/suppressions/remove", bounces.remove, methods=["POST"], include_in_schema=False),
    Mount(f"{UI}/static", app=UiStatic(), name="ui-static"),
    Route(f"{UI}/{{path:path}}", ui_not_found, include_in_schema=False),
]

ROUTES: list[BaseRoute] = [
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
    Route(f"{API}/bounces", api_bounces.list_all, methods=["GET"]),
    Route(f"{API}/suppressions", suppressions.list_all, methods=["GET"]),
    Route(f"{API}/suppressions", suppressions.create, methods=["POST"]),
    Route(f"{API}/suppressions/{{address}}", suppressions.delete, methods=["DELETE"]),
    Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
    *UI_ROUTES,
]
