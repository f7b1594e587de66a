"""Help texts describe what exists: `mailhook serve --help` names every surface the web app
serves and none it does not; the other commands' claims are checked where they are made."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from starlette.routing import BaseRoute

from service.cli.main import cli
from service.web.routes import ROUTES

#: The web app's surfaces, by path prefix, as `serve --help` must name them.
SURFACES = ("/hooks/", "/api/v1", "/ui", "/livez", "/readyz", "/openapi.json")


def _help(*command: str) -> str:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def _served(prefix: str, routes: list[BaseRoute]) -> bool:
    return any(getattr(route, "path", "").startswith(prefix) for route in routes)


@pytest.mark.parametrize("prefix", SURFACES)
def test_serve_help_names_exactly_what_the_app_serves(prefix: str) -> None:
    shown = _help("serve")
    assert (prefix.rstrip("/") in shown) == _served(prefix, ROUTES), (prefix, shown)


def test_dev_help_does_not_promise_what_depends_on_the_config() -> None:
    shown = _help("dev")
    assert "when `smtp:` is configured" in shown and "embedded one when none answers" in shown


def test_the_admin_scope_help_lists_what_only_admins_may_do() -> None:
    shown = _help("tokens", "create")
    for action in ("delete and replay messages", "make and remove addresses", "suppression list"):
        assert action in shown


@pytest.mark.parametrize("command", [["messages"], ["runs"]])
def test_limits_must_be_positive(command: list[str]) -> None:
    assert CliRunner().invoke(cli, [*command, "--limit", "-1"]).exit_code == 2
