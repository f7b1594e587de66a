"""The one route table of the web app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from service.api import addresses, admin, files, messages, spec, suppressions, wait
from service.api import bounces as api_bounces
from service.ingest import hooks
from service.ui import body, bounces, events, inbox, message, ops, signin
from service.ui.errors import PageNotFound
from service.ui.pages import UiStatic
from service.web import health

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


Endpoint = Callable[[Request], Awaitable[Response]]

API = "/api/v1"
UI = "/ui"
MSG = f"{UI}/messages/{{id}}"

#: ``(methods, path, endpoint)``: the web inbox (``service.ui``), HTML for people, so none of it
#: is in the OpenAPI description.
UI_PAGES: list[tuple[str, str, Endpoint]] = [
    ("GET", "/", to_inbox),
    ("GET", "/inbox", to_inbox),
    ("GET", UI, inbox.inbox),
    ("GET", f"{UI}/inbox/rows", inbox.rows),
    ("GET", f"{UI}/events", events.events),
    ("GET", f"{UI}/signin", signin.signin_page),
    ("POST", f"{UI}/signin", signin.signin),
    ("POST", f"{UI}/signout", signin.signout),
    ("GET", MSG, message.message_page),
    ("GET", f"{MSG}/body", body.html_body),
    ("GET", f"{MSG}/raw", body.raw),
    ("GET", f"{MSG}/attachments/{{n:int}}", body.attachment),
    ("POST", f"{MSG}/replay", message.replay),
    ("POST", f"{MSG}/unread", message.mark_unread),
    ("POST", f"{MSG}/delete", message.delete),
    ("GET", f"{UI}/dead-letters", ops.dead_letters),
    ("POST", f"{UI}/dead-letters/replay", ops.replay_all),
    ("GET", f"{UI}/sources", ops.sources),
    ("POST", f"{UI}/sources/{{name}}/webhook-url", ops.webhook_url),
    ("GET", f"{UI}/status", ops.status),
    ("GET", f"{UI}/bounces", bounces.bounces),
    ("GET", f"{UI}/suppressions", bounces.suppressions),
    ("POST", f"{UI}/suppressions/add", bounces.add),
    ("POST", f"{UI}/suppressions/remove", bounces.remove),
]

#: ``(methods, path, endpoint)``: health, the hooks and the read API (``service.api``).
ENDPOINTS: list[tuple[str, str, Endpoint]] = [
    ("GET", "/livez", health.livez),
    ("GET", "/readyz", health.readyz),
    ("POST", "/hooks/{source}/{secret}", hooks.receive),
    ("POST", "/hooks/{source}", hooks.receive),
    ("GET HEAD", "/hooks/{source}/{secret}", hooks.probe),
    ("GET HEAD", "/hooks/{source}", hooks.probe),
    ("GET", f"{API}/messages", messages.list_messages),
    ("GET", f"{API}/messages/{{id}}", messages.get_one),
    ("DELETE", f"{API}/messages/{{id}}", admin.delete_one),
    ("GET", f"{API}/messages/{{id}}/raw", files.raw),
    ("GET", f"{API}/messages/{{id}}/attachments/{{n:int}}", files.attachment),
    ("POST", f"{API}/messages/{{id}}/replay", admin.replay),
    ("GET", f"{API}/cursor", wait.cursor),
    ("GET", f"{API}/wait", wait.wait),
    ("POST", f"{API}/addresses", addresses.create),
    ("GET", f"{API}/addresses", addresses.list_all),
    ("DELETE", f"{API}/addresses/{{address}}", addresses.delete),
    ("GET", f"{API}/bounces", api_bounces.list_all),
    ("GET", f"{API}/suppressions", suppressions.list_all),
    ("POST", f"{API}/suppressions", suppressions.create),
    ("DELETE", f"{API}/suppressions/{{address}}", suppressions.delete),
]


def _routes(table: list[tuple[str, str, Endpoint]], *, include_in_schema: bool = True) -> list[BaseRoute]:
    return [
        Route(path, endpoint, methods=methods.split(), include_in_schema=include_in_schema)
        for methods, path, endpoint in table
    ]


UI_ROUTES: list[BaseRoute] = [
    *_routes(UI_PAGES, include_in_schema=False),
    Mount(f"{UI}/static", app=UiStatic(), name="ui-static"),
    Route(f"{UI}/{{path:path}}", ui_not_found, include_in_schema=False),
]

ROUTES: list[BaseRoute] = [
    *_routes(ENDPOINTS),
    Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
    *UI_ROUTES,
]
