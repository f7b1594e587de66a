"""The pytest plugin as users meet it: loaded through its entry point in a separate pytest run
(pytester), configured by options and environment, talking to the fake read API over loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service.cli.embedded_redis import free_port
from service.client.inbox import MAX_LOCAL_PART, plus_address, slugify
from tests.support.fakes.mailhook_api import ADMIN_TOKEN, READ_TOKEN, FakeMailhookAPI
from tests.support.servers import serve_in_thread

pytest_plugins = ["pytester"]
#: The inner runs need neither a cache nor asyncio; the plugin's package is imported by the outer run.
QUIET = ("-p", "no:cacheprovider", "-p", "no:asyncio", "-W", "ignore::pytest.PytestAssertRewriteWarning")


@pytest.fixture
def fake() -> FakeMailhookAPI:
    return FakeMailhookAPI(max_wait_s=0.2)


@pytest.fixture
def fake_url(fake: FakeMailhookAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in ("MAILHOOK_URL", "MAILHOOK_ADDRESS", "MAILHOOK_VIA", "MAILHOOK_DOMAIN", "MAILHOOK_CLEANUP"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAILHOOK_TOKEN", ADMIN_TOKEN)
    with serve_in_thread(fake.app()) as base:
        yield base


SIGNUP_TEST = """
import httpx

def test_signup_gets_its_code(mailhook_inbox):
    address = mailhook_inbox.address
    assert address.startswith("signup+signup-gets-its-code-") and address.endswith("@qa.example.com")
    httpx.post("{url}/_fake/deliver", json={{"to": "signup+someone-else@qa.example.com", "code": "000000"}})
    httpx.post("{url}/_fake/deliver", json={{"to": address, "subject": "Welcome"}})
    httpx.post("{url}/_fake/deliver", json={{"to": address, "code": "482913"}})
    httpx.post("{url}/_fake/deliver", json={{"to": address, "links": ["https://w.example/v?t=1"]}})
    assert mailhook_inbox.wait_for_message().subject == "Welcome"
    assert mailhook_inbox.wait_for_code(timeout=2) == "482913"
    assert mailhook_inbox.wait_for_link("v?t=", timeout=0) == "https://w.example/v?t=1"
"""


def test_inbox_plus_address_waits_from_its_own_cursor(
    pytester: pytest.Pytester, fake: FakeMailhookAPI, fake_url: str
) -> None:
    fake.deliver("signup+old@qa.example.com", code="999999")  # an earlier run: before the inbox's cursor
    pytester.makepyfile(SIGNUP_TEST.format(url=fake_url))
    result = pytester.runpytest(*QUIET, "--mailhook-url", fake_url, "--mailhook-address", "signup@qa.example.com")
    result.assert_outcomes(passed=1)
    waits = [params for _, path, params in fake.requests if path == "/api/v1/wait"]
    assert [params["since"] for params in waits][:2] == ["c:1", "c:3"], "cursor taken at creation, then advanced"
    assert len(fake.messages) == 5, "without --mailhook-cleanup the messages stay"


def test_inbox_cleanup_deletes_the_messages_it_received(
    pytester: pytest.Pytester, fake: FakeMailhookAPI, fake_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILHOOK_URL", fake_url)
    monkeypatch.setenv("MAILHOOK_ADDRESS", "signup@qa.example.com")
    pytester.makepyfile(SIGNUP_TEST.format(url=fake_url))
    result = pytester.runpytest(*QUIET, "--mailhook-cleanup")
    result.assert_outcomes(passed=1)
    assert [m["envelope_to"] for m in fake.messages] == [["signup+someone-else@qa.example.com"]]


def test_inbox_provisions_an_alias_and_deletes_it(
    pytester: pytest.Pytester, fake: FakeMailhookAPI, fake_url: str
) -> None:
    pytester.makepyfile(
        f"""
        import httpx

        def test_alias(mailhook_inbox):
            assert mailhook_inbox.provisioned.via == "proxiedmail"
            assert mailhook_inbox.address.endswith("@pxdmail.example")
            httpx.post("{fake_url}/_fake/deliver", json={{"to": mailhook_inbox.address, "code": "1234"}})
            assert mailhook_inbox.wait_for_code() == "1234"
        """
    )
    result = pytester.runpytest(
        *QUIET,
        "--mailhook-url",
        fake_url,
        "--mailhook-via",
        "proxiedmail",
        "--mailhook-domain",
        "pxdmail.example",
    )
    result.assert_outcomes(passed=1)
    assert [path for method, path, _ in fake.requests if method != "GET"] == [
        "/api/v1/addresses",
        f"/api/v1/addresses/{fake.messages[0]['envelope_to'][0]}",
    ]
    assert fake.addresses == {}


def test_inbox_timeout_fails_the_test_with_what_was_waited_for(
    pytester: pytest.Pytester, fake_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILHOOK_TOKEN", READ_TOKEN)
    pytester.makeini(f"[pytest]\nmailhook_url = {fake_url}\nmailhook_address = qa@x.example\nmailhook_timeout = 0.5\n")
    pytester.makepyfile("def test_nothing_comes(mailhook_inbox):\n    mailhook_inbox.wait_for_code()\n")
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*WaitTimeout: no message with a code to qa+nothing-comes-*@x.example within 0.5 s*"])


def test_inbox_without_an_address_setting_fails_with_the_fix(pytester: pytest.Pytester, fake_url: str) -> None:
    pytester.makepyfile("def test_x(mailhook_inbox):\n    pass\n")
    result = pytester.runpytest(*QUIET, "--mailhook-url", fake_url)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*mailhook_inbox: mailhook_inbox needs --mailhook-address BASE@DOMAIN or --mailhook-via*"]
    )


def test_inbox_when_mailhook_is_unreachable_fails_with_the_url(pytester: pytest.Pytester, fake_url: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    pytester.makepyfile("def test_x(mailhook_inbox):\n    pass\n")
    result = pytester.runpytest(*QUIET, "--mailhook-url", url, "--mailhook-address", "a@b.example")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*mailhook_inbox: cannot reach Mailhook at {url}*"])


def test_plugin_is_inert_when_its_fixtures_are_unused(
    pytester: pytest.Pytester, fake: FakeMailhookAPI, fake_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILHOOK_URL", fake_url)
    monkeypatch.setenv("MAILHOOK_VIA", "proxiedmail")
    monkeypatch.setenv("MAILHOOK_ADDRESS", "both@set.example")  # a conflict, but nobody asks
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(passed=1)
    assert fake.requests == []


def test_options_are_documented_in_pytest_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("-p", "no:asyncio", "--help")
    result.stdout.fnmatch_lines(
        [
            "Mailhook inbox fixtures*",
            "*--mailhook-url=URL*",
            "*--mailhook-address=ADDRESS*",
            "*--mailhook-via=VIA*",
            "*--mailhook-cleanup*",
        ]
    )


@pytest.mark.parametrize(
    ("base", "name", "expected"),
    [
        ("signup@qa.example.com", "test_sign_up[chrome-1]", "signup+sign-up-chrome-1-abc123@qa.example.com"),
        ("signup+ci@qa.example.com", "test_x", "signup+ci-x-abc123@qa.example.com"),
        ("s@q.example", "test_" + "long_name_" * 10, None),
    ],
)
def test_plus_address_is_named_after_the_test_and_fits_a_local_part(base: str, name: str, expected: str | None) -> None:
    address = plus_address(base, name, random="abc123")
    if expected:
        assert address == expected
    local = address.partition("@")[0]
    assert len(local) <= MAX_LOCAL_PART and local.endswith("-abc123") and "--" not in local


def test_plus_addresses_differ_between_calls() -> None:
    assert plus_address("a@b.example", "test_x") != plus_address("a@b.example", "test_x")
    assert slugify("test_ÜBER weird//name") == "ber-weird-name"
    with pytest.raises(ValueError, match="not an email address"):
        plus_address("nobody", "test_x")
