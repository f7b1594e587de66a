"""pytest plugin (entry point ``pytest11: mailhook``): a unique Mailhook address per test.

    def test_sign_up(mailhook_inbox):
        my_app.sign_up(email=mailhook_inbox.address)
        code = mailhook_inbox.wait_for_code()

Fixtures: ``mailhook_settings`` and ``mailhook_client`` (session), ``mailhook_inbox`` (per test).
Configure with ``--mailhook-*`` options (see ``pytest --help``), ``MAILHOOK_*`` variables, or
``mailhook_*`` ini keys, in that order of precedence; the token only ever comes from
``MAILHOOK_TOKEN`` (a command line is visible to every user of the machine).

Loading the plugin does nothing else: no request is made and nothing is checked until a test
asks for one of the fixtures, so it is safe in every test suite of an environment that has
Mailhook installed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from service.client.config import DEFAULT_URL
from service.client.errors import MailhookError
from service.client.inbox import InboxSettings, MailhookInbox
from service.client.sync import MailhookClient

#: option dest -> (flag, environment variable, ini key, help)
OPTIONS: dict[str, tuple[str, str, str, str]] = {
    "mailhook_url": (
        "--mailhook-url",
        "MAILHOOK_URL",
        "mailhook_url",
        f"Mailhook base URL (default {DEFAULT_URL}); the API token is read from MAILHOOK_TOKEN.",
    ),
    "mailhook_address": (
        "--mailhook-address",
        "MAILHOOK_ADDRESS",
        "mailhook_address",
        "base address whose mail reaches Mailhook; each test gets base+<test-name>-<random>@domain.",
    ),
    "mailhook_via": (
        "--mailhook-via",
        "MAILHOOK_VIA",
        "mailhook_via",
        "provision each test's address through this provider (proxiedmail, improvmx, ...) and delete it after.",
    ),
    "mailhook_domain": (
        "--mailhook-domain",
        "MAILHOOK_DOMAIN",
        "mailhook_domain",
        "domain for provisioned addresses (with --mailhook-via; default: the provider's).",
    ),
    "mailhook_timeout": (
        "--mailhook-timeout",
        "MAILHOOK_TIMEOUT",
        "mailhook_timeout",
        "default seconds mailhook_inbox.wait_for_*() waits (default 60).",
    ),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mailhook", "Mailhook inbox fixtures (mailhook_inbox, mailhook_client)")
    for dest, (flag, env, ini, text) in OPTIONS.items():
        group.addoption(
            flag, dest=dest, default=None, metavar=dest.removeprefix("mailhook_").upper(), help=f"{text} [{env}]"
        )
        parser.addini(ini, f"default for {flag}", default=None)
    group.addoption(
        "--mailhook-cleanup",
        action="store_true",
        default=False,
        help="after each test, delete the messages its address received (needs an admin token) [MAILHOOK_CLEANUP=1]",
    )


def _setting(config: pytest.Config, dest: str) -> str | None:
    _, env, ini, _ = OPTIONS[dest]
    value = config.getoption(dest) or os.environ.get(env) or config.getini(ini)
    return str(value) if value else None


def settings_from(config: pytest.Config) -> tuple[str | None, InboxSettings]:
    """(URL, inbox settings) from options, then environment, then ini."""
    timeout = _setting(config, "mailhook_timeout")
    cleanup = bool(config.getoption("mailhook_cleanup")) or os.environ.get("MAILHOOK_CLEANUP", "") in {"1", "true"}
    inbox = InboxSettings(
        address=_setting(config, "mailhook_address"),
        via=_setting(config, "mailhook_via"),
        domain=_setting(config, "mailhook_domain"),
        timeout=float(timeout) if timeout else 60.0,
        cleanup=cleanup,
    )
    return _setting(config, "mailhook_url"), inbox


@pytest.fixture(scope="session")
def mailhook_settings(pytestconfig: pytest.Config) -> InboxSettings:
    """How ``mailhook_inbox`` makes addresses; override it in a conftest to configure in code."""
    return settings_from(pytestconfig)[1]


@pytest.fixture(scope="session")
def mailhook_client(pytestconfig: pytest.Config) -> Iterator[MailhookClient]:
    """A :class:`MailhookClient` on ``--mailhook-url`` / ``MAILHOOK_URL`` with ``MAILHOOK_TOKEN``."""
    try:
        client = MailhookClient(settings_from(pytestconfig)[0])
    except MailhookError as exc:
        pytest.fail(f"mailhook_client: {exc}", pytrace=False)
    with client:
        yield client


@pytest.fixture
def mailhook_inbox(
    request: pytest.FixtureRequest, mailhook_client: MailhookClient, mailhook_settings: InboxSettings
) -> Iterator[MailhookInbox]:
    """A unique address for this test; waits see only mail stored after it was made."""
    try:
        inbox = MailhookInbox.create(mailhook_client, mailhook_settings, request.node.name)
    except MailhookError as exc:
        pytest.fail(f"mailhook_inbox: {exc}", pytrace=False)
    yield inbox
    inbox.close(delete_messages=mailhook_settings.cleanup)
