"""The sync client against the fake read API on real loopback HTTP (tests/support/fakes/mailhook_api.py)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from service.cli.embedded_redis import free_port
from service.client import (
    BadRequest,
    Forbidden,
    MailhookClient,
    MailhookError,
    NotFound,
    ServerUnavailable,
    Unauthorized,
    WaitTimeout,
)
from tests.support.fakes.mailhook_api import ADMIN_TOKEN, READ_TOKEN, FakeMailhookAPI
from tests.support.servers import serve_in_thread

TO = "signup+run1@qa.example.com"


@pytest.fixture
def fake() -> FakeMailhookAPI:
    return FakeMailhookAPI(max_wait_s=0.2)


@pytest.fixture
def fake_url(fake: FakeMailhookAPI) -> Iterator[str]:
    with serve_in_thread(fake.app()) as base:
        yield base


@pytest.fixture
def client(fake_url: str) -> Iterator[MailhookClient]:
    with MailhookClient(fake_url, ADMIN_TOKEN, timeout=5) as mailhook:
        yield mailhook


def later(delay: float, fake: FakeMailhookAPI, to: str, **kwargs: Any) -> threading.Timer:
    timer = threading.Timer(delay, lambda: fake.deliver(to, **kwargs))
    timer.start()
    return timer


def waits(fake: FakeMailhookAPI) -> list[dict[str, str]]:
    return [params for method, path, params in fake.requests if path == "/api/v1/wait"]


# Waiting


def test_wait_finds_mail_that_arrived_after_the_cursor_but_before_the_call(
    client: MailhookClient, fake: FakeMailhookAPI
) -> None:
    fake.deliver(TO, subject="old run", code="111111")
    since = client.cursor()
    fake.deliver(TO, subject="this run", code="222222")
    result = client.wait_for_message(TO, since=since, timeout=2)
    assert (result.message.subject, result.message.code) == ("this run", "222222")
    assert result.cursor == "c:2"


def test_wait_keeps_waiting_past_the_server_cap_until_its_own_deadline(
    client: MailhookClient, fake: FakeMailhookAPI
) -> None:
    since = client.cursor()
    later(0.9, fake, TO, code="424242")
    assert client.wait_for_code(TO, since=since, timeout=5) == "424242"
    assert len(waits(fake)) >= 3, "each capped 408 is followed by another wait"
    assert all(params["timeout"] in {"5", "4"} for params in waits(fake)[:2])


def test_wait_resumes_from_the_cursor_each_408_returns(client: MailhookClient, fake: FakeMailhookAPI) -> None:
    since = client.cursor()
    fake.deliver("someone-else@qa.example.com")  # moves the store on; the next 408 reports c:1
    with pytest.raises(WaitTimeout):
        client.wait_for_message(TO, since=since, timeout=1)
    sinces = [params.get("since") for params in waits(fake)]
    assert sinces[0] == "c:0" and set(sinces[1:]) == {"c:1"}


def test_wait_timeout_says_what_was_waited_for(client: MailhookClient) -> None:
    started = time.monotonic()
    with pytest.raises(WaitTimeout) as caught:
        client.wait_for_message(TO, from_="no-reply@example.net", subject="Confirm", timeout=1)
    elapsed = time.monotonic() - started
    assert 1 <= elapsed < 3
    assert str(caught.value) == (
        f"no message to {TO} from no-reply@example.net with subject containing 'Confirm' within 1 s"
    )
    assert isinstance(caught.value, TimeoutError) and caught.value.details["to"] == TO


def test_wait_timeout_zero_checks_once(client: MailhookClient, fake: FakeMailhookAPI) -> None:
    with pytest.raises(WaitTimeout):
        client.wait_for_message(TO, timeout=0)
    assert [params["timeout"] for params in waits(fake)] == ["0"]


def test_a_wait_longer_than_the_contracts_maximum_asks_for_a_day_at_a_time(
    client: MailhookClient, fake: FakeMailhookAPI
) -> None:
    fake.deliver(TO)
    client.wait_for_message(TO, since="c:0", timeout=3 * 86400)
    assert [params["timeout"] for params in waits(fake)] == ["86400"]


def test_wait_for_code_passes_over_mail_without_a_code(client: MailhookClient, fake: FakeMailhookAPI) -> None:
    since = client.cursor()
    fake.deliver(TO, subject="Welcome")
    later(0.3, fake, TO, subject="Your code", code="908070")
    assert client.wait_for_code(TO, since=since, timeout=5) == "908070"


def test_wait_for_code_timeout_names_the_mail_that_had_none(client: MailhookClient, fake: FakeMailhookAPI) -> None:
    since = client.cursor()
    fake.deliver(TO, subject="Welcome")
    with pytest.raises(WaitTimeout, match=r"no message with a code to .* \(1 other message\(s\) arrived: 'Welcome'\)"):
        client.wait_for_code(TO, since=since, timeout=1)


def test_wait_for_link_by_substring_and_by_regex(client: MailhookClient, fake: FakeMailhookAPI) -> None:
    since = client.cursor()
    links = ("https://widgets.example/shop", "https://widgets.example/verify?t=abc")
    fake.deliver(TO, subject="Verify", links=links)
    assert client.wait_for_link(TO, since=since, timeout=2) == links[0]
    assert client.wait_for_link(TO, since=since, match="verify", timeout=2) == links[1]
    assert client.wait_for_link(TO, since=since, match=re.compile(r"t=\w+$"), timeout=2) == links[1]
    with pytest.raises(WaitTimeout, match="with a link containing 'reset'"):
        client.wait_for_link(TO, since=since, match="reset", timeout=0)


def test_claim_hands_each_message_to_one_waiter(client: MailhookClient, fake: FakeMailhookAPI) -> None:
    since = client.cursor()
    fake.deliver(TO, code="1")
    fake.deliver(TO, code="2")
    first = client.wait_for_message(TO, since=since, claim=True, timeout=1)
    second = client.wait_for_message(TO, since=since, claim=True, timeout=1)
    assert {first.message.code, second.message.code} == {"1", "2"}
    assert all(params["claim"] == "true" for params in waits(fake))


def test_wait_rides_out_gateway_errors(client: MailhookClient, fake: FakeMailhookAPI) -> None:
    since = client.cursor()
    fake.deliver(TO, code="555555")
    fake.fail_next = [503, 502]
    assert client.wait_for_code(TO, since=since, timeout=5) == "555555"


def test_wait_reports_the_gateway_error_when_that_is_all_it_got(client: MailhookClient, fake: FakeMailhookAPI) -> None:
    fake.fail_next = [503] * 20
    with pytest.raises(ServerUnavailable, match="scripted 503"):
        client.wait_for_message(TO, timeout=1)


# Errors


def test_no_token_is_unauthorized_with_the_fix(fake_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILHOOK_TOKEN", raising=False)
    with MailhookClient(fake_url) as anonymous, pytest.raises(Unauthorized, match="set MAILHOOK_TOKEN") as caught:
        anonymous.cursor()
    assert (caught.value.status, caught.value.error) == (401, "unauthorized")


def test_bad_token_is_unauthorized(fake_url: str) -> None:
    with MailhookClient(fake_url, "mh_wrong") as wrong, pytest.raises(Unauthorized, match="invalid bearer token"):
        wrong.wait_for_message(TO, timeout=1)


def test_read_token_cannot_delete(fake_url: str, fake: FakeMailhookAPI) -> None:
    message = fake.deliver(TO)
    with MailhookClient(fake_url, READ_TOKEN) as reader, pytest.raises(Forbidden) as caught:
        reader.delete(message["id"])
    assert caught.value.error == "forbidden"


def test_bad_parameter_carries_the_servers_details(client: MailhookClient) -> None:
    with pytest.raises(BadRequest) as caught:
        list(client.messages(page_size=0))
    assert caught.value.details == {"parameter": "limit"}
    assert caught.value.message.startswith("limit must be 1..500 (HTTP 400 from GET /api/v1/messages")
    with pytest.raises(BadRequest) as caught:
        client.wait_for_message("not-an-address", timeout=1)
    assert caught.value.details == {"parameter": "to"}


def test_connection_failure_is_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with MailhookClient(url, ADMIN_TOKEN) as nowhere, pytest.raises(ServerUnavailable) as caught:
        nowhere.cursor()
    assert str(caught.value).startswith(f"cannot reach Mailhook at {url}")
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_an_answer_that_is_not_json_is_a_mailhook_error() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>proxy login</html>"))
    with MailhookClient("http://mailhook.test", "t", transport=transport) as odd:
        with pytest.raises(MailhookError, match="not JSON"):
            odd.cursor()
        with pytest.raises(MailhookError, match="unexpected answer"):
            odd.message("x")


def test_an_answer_of_another_shape_is_a_mailhook_error_not_a_key_error() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"next": "c:9"}))
    with MailhookClient("http://mailhook.test", "t", transport=transport) as odd:
        with pytest.raises(MailhookError, match=r"unexpected answer from Mailhook to /api/v1/cursor: KeyError"):
            odd.cursor()


def test_url_and_token_come_from_the_environment(fake_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILHOOK_URL", fake_url + "/")
    monkeypatch.setenv("MAILHOOK_TOKEN", READ_TOKEN)
    with MailhookClient() as from_env:
        assert from_env.config.url == fake_url
        assert from_env.cursor() == "c:0"


# Reading and managing


def test_messages_follow_next_cursor_newest_first(client: MailhookClient, fake: FakeMailhookAPI) -> None:
    for n in range(7):
        fake.deliver(f"signup+{n}@qa.example.com", subject=f"n{n}")
    fake.deliver("other@qa.example.com")
    subjects = [m.subject for m in client.messages(to="signup@qa.example.com", page_size=3)]
    assert subjects == [f"n{n}" for n in reversed(range(7))]
    assert len([p for _, path, p in fake.requests if path == "/api/v1/messages"]) == 3
    assert len(list(client.messages(page_size=3, limit=4))) == 4
    before = len(fake.requests)
    assert len(list(client.messages(page_size=3, limit=3))) == 3
    assert len(fake.requests) == before + 1, "a limit the first page fills asks for no second page"
    assert [m.subject for m in client.messages(tag="3")] == ["n3"]


def test_message_raw_replay_and_delete(client: MailhookClient, fake: FakeMailhookAPI) -> None:
    stored = fake.deliver(TO, subject="Hello", code="123456", text="Your code is 123456")
    detail = client.message(stored["id"])
    assert (detail.subject, detail.code, detail.text, detail.headers) == (
        "Hello",
        "123456",
        stored["text"],
        [("Subject", "x")],
    )
    assert detail.from_ is not None and str(detail.from_) == '"Widget Co" <no-reply@example.net>'
    assert client.raw(stored["id"]).startswith(b"Subject: Hello")
    client.replay(stored["id"])
    with pytest.raises(NotFound):
        client.attachment(stored["id"], 1)
    client.delete(stored["id"])
    with pytest.raises(NotFound):
        client.message(stored["id"])


def test_addresses_create_list_delete(client: MailhookClient) -> None:
    made = client.create_address("proxiedmail", local_part="qa1", domain="proxiedmail.com")
    assert (made.address, made.via, made.provider_ref) == ("qa1@proxiedmail.com", "proxiedmail", "ref-qa1")
    assert [a.address for a in client.addresses()] == ["qa1@proxiedmail.com"]
    client.delete_address(made.address)
    assert client.addresses() == []
    with pytest.raises(NotFound):
        client.delete_address(made.address)
    client.delete_address(made.address, missing_ok=True)
    with pytest.raises(BadRequest) as caught:
        client.create_address("nosuchprovider")
    assert caught.value.details == {"parameter": "via"}
