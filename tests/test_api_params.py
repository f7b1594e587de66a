"""Bad input to the read API: 400 with a JSON body naming the parameter, never a silent match-all."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.routing import Route

from service.settings import Settings
from service.store.tokens import Scope
from service.web.routes import ROUTES
from tests.support.api import bearer, make_token


@pytest.fixture
async def api(client: httpx.AsyncClient, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    client.headers.update(bearer(make_token(settings)))
    yield client


BAD = [
    ("/api/v1/messages", {"subjet": "typo"}, "subjet"),
    ("/api/v1/messages", {"to": "not-an-address"}, "to"),
    ("/api/v1/messages", {"to": "Signup <signup@x.example>"}, "to"),
    ("/api/v1/messages", {"from": "a@b@c"}, "from"),
    ("/api/v1/messages", {"cursor": "01abc"}, "cursor"),
    ("/api/v1/messages", {"cursor": "zzzzzzzzzzzzzzzzzzzzzzzzzz"}, "cursor"),
    ("/api/v1/messages", {"since": "yesterday"}, "since"),
    ("/api/v1/messages", {"until": "2026-13-01"}, "until"),
    ("/api/v1/messages", {"limit": "0"}, "limit"),
    ("/api/v1/messages", {"limit": "201"}, "limit"),
    ("/api/v1/messages", {"limit": "-1"}, "limit"),
    ("/api/v1/messages", {"status": "done"}, "status"),
    ("/api/v1/messages", {"subject": ""}, "subject"),
    ("/api/v1/messages", {"subject": "x" * 1001}, "subject"),
    ("/api/v1/messages/01aaaaaaaaaaaaaaaaaaaaaaaa", {"fields": "all"}, "fields"),
    ("/api/v1/cursor", {"now": "1"}, "now"),
    ("/api/v1/wait", {}, "to"),
    ("/api/v1/wait", {"to": "signup"}, "to"),
    ("/api/v1/wait", {"to": "a@b.example", "timeout": "-1"}, "timeout"),
    ("/api/v1/wait", {"to": "a@b.example", "timeout": "86401"}, "timeout"),
    ("/api/v1/wait", {"to": "a@b.example", "timeout": "1e309"}, "timeout"),
    ("/api/v1/wait", {"to": "a@b.example", "timeout": "nan"}, "timeout"),
    ("/api/v1/wait", {"to": "a@b.example", "timeout": "soon"}, "timeout"),
    ("/api/v1/wait", {"to": "a@b.example", "claim": "maybe"}, "claim"),
    ("/api/v1/wait", {"to": "a@b.example", "since": "0x1f"}, "since"),
    ("/api/v1/wait", {"to": "a@b.example", "tag": "x"}, "tag"),
]


@pytest.mark.parametrize(("path", "params", "parameter"), BAD)
async def test_bad_parameter_is_400_naming_it(
    api: httpx.AsyncClient, path: str, params: dict[str, str], parameter: str
) -> None:
    response = await api.get(path, params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "bad_parameter"
    assert body["details"] == {"parameter": parameter}
    assert parameter in body["message"]


async def test_a_repeated_parameter_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/messages?to=a@b.example&to=c@d.example")
    assert response.status_code == 400
    assert response.json()["details"] == {"parameter": "to"}


@pytest.mark.parametrize(
    "params",
    [
        {"to": "Signup+Run1@Example.COM", "limit": "200", "status": "unrouted"},
        {"since": "2026-01-01T00:00:00", "until": "1893456000.5"},
        {"since": "01AAAAAAAAAAAAAAAAAAAAAAAA"},
    ],
)
async def test_good_parameters_are_accepted(api: httpx.AsyncClient, params: dict[str, str]) -> None:
    assert (await api.get("/api/v1/messages", params=params)).status_code == 200


#: (method, path, query, JSON body, the parameter a 400 must name): at least one case for every
#: /api/v1 route and method (``test_every_api_route_has_a_bad_input_case`` keeps it so).
MID = "01aaaaaaaaaaaaaaaaaaaaaaaa"
EVERY_ROUTE: list[tuple[str, str, dict[str, str], dict[str, object] | None, str]] = [
    ("GET", "/api/v1/messages", {"recipient": "a@b.example"}, None, "recipient"),
    ("GET", "/api/v1/messages", {"to": "a@b@c.example"}, None, "to"),
    ("GET", "/api/v1/messages", {"cursor": "2026-01-01"}, None, "cursor"),
    ("GET", f"/api/v1/messages/{MID}", {"raw": "1"}, None, "raw"),
    ("DELETE", f"/api/v1/messages/{MID}", {"force": "true"}, None, "force"),
    ("GET", f"/api/v1/messages/{MID}/raw", {"download": "1"}, None, "download"),
    ("GET", f"/api/v1/messages/{MID}/attachments/0", {"inline": "1"}, None, "inline"),
    ("POST", f"/api/v1/messages/{MID}/replay", {"resume": "sometimes"}, None, "resume"),
    ("POST", f"/api/v1/messages/{MID}/replay", {"pipeline": "x"}, None, "pipeline"),
    ("GET", "/api/v1/cursor", {"at": "now"}, None, "at"),
    ("GET", "/api/v1/wait", {"to": "a@b.example", "timeout": "-0.5"}, None, "timeout"),
    ("GET", "/api/v1/wait", {"to": "a@b.example", "timeout": "100000"}, None, "timeout"),
    ("GET", "/api/v1/wait", {"to": "a@b.example", "since": "01abc"}, None, "since"),
    ("GET", "/api/v1/wait", {"to": "<a@b.example>x"}, None, "to"),
    ("GET", "/api/v1/wait", {"to": "a@b.example", "from": "nobody"}, None, "from"),
    ("GET", "/api/v1/addresses", {"provider": "improvmx"}, None, "provider"),
    ("POST", "/api/v1/addresses", {}, {"via": "improvmx", "alias": "x"}, "alias"),
    ("POST", "/api/v1/addresses", {}, {"local_part": "x"}, "via"),
    ("POST", "/api/v1/addresses", {"dry_run": "1"}, {"via": "improvmx"}, "dry_run"),
    ("DELETE", "/api/v1/addresses/not-an-address", {}, None, "address"),
    ("DELETE", "/api/v1/addresses/a@b.example", {"account": "imx"}, None, "account"),
    ("GET", "/api/v1/bounces", {"recipient": "nobody"}, None, "recipient"),
    ("GET", "/api/v1/bounces", {"to": "a@b.example"}, None, "to"),
    ("GET", "/api/v1/bounces", {"kind": "bounced"}, None, "kind"),
    ("GET", "/api/v1/bounces", {"cursor": MID}, None, "cursor"),
    ("GET", "/api/v1/bounces", {"cursor": "123.x"}, None, "cursor"),
    ("GET", "/api/v1/bounces", {"cursor": "1796115600000000.2147483648"}, None, "cursor"),
    ("GET", "/api/v1/bounces", {"since": "last week"}, None, "since"),
    ("GET", "/api/v1/bounces", {"until": "1969-12-31T00:00:00Z"}, None, "until"),
    ("GET", "/api/v1/bounces", {"limit": "1000"}, None, "limit"),
    ("GET", "/api/v1/suppressions", {"address": "a at b.example"}, None, "address"),
    ("GET", "/api/v1/suppressions", {"include_expired": "perhaps"}, None, "include_expired"),
    ("GET", "/api/v1/suppressions", {"cursor": "-1.5"}, None, "cursor"),
    ("GET", "/api/v1/suppressions", {"all": "true"}, None, "all"),
    ("POST", "/api/v1/suppressions", {}, {"address": "a@b.example", "days": 3}, "days"),
    ("POST", "/api/v1/suppressions", {"notify": "1"}, {"address": "a@b.example"}, "notify"),
    ("POST", "/api/v1/suppressions", {}, {"address": "a@b.example", "expires_at": "-1"}, "expires_at"),
    ("DELETE", "/api/v1/suppressions/not-an-address", {}, None, "address"),
    ("DELETE", "/api/v1/suppressions/a@b.example", {"reason": "x"}, None, "reason"),
]


@pytest.fixture
async def admin_api(client: httpx.AsyncClient, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    client.headers.update(bearer(make_token(settings, Scope.admin)))
    yield client


@pytest.mark.parametrize(("method", "path", "params", "body", "parameter"), EVERY_ROUTE)
async def test_every_route_refuses_bad_input_naming_the_parameter(
    admin_api: httpx.AsyncClient,
    method: str,
    path: str,
    params: dict[str, str],
    body: dict[str, object] | None,
    parameter: str,
) -> None:
    response = await admin_api.request(method, path, params=params, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_parameter"
    assert response.json()["details"] == {"parameter": parameter}


def test_every_api_route_has_a_bad_input_case() -> None:
    served = {
        (method, route.path)
        for route in ROUTES
        if isinstance(route, Route) and route.path.startswith("/api/")
        for method in route.methods or ()
        if method != "HEAD"
    }
    covered = {(method, _template(path)) for method, path, *_ in EVERY_ROUTE}
    assert served - covered == set()


def _template(path: str) -> str:
    """The route template a concrete test path was matched by."""
    for route in ROUTES:
        if isinstance(route, Route) and route.path_regex.match(path):
            return route.path
    raise AssertionError(f"no route serves {path}")
