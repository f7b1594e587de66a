"""Pulled provider logs against local fakes of ImprovMX and addy.io: pagination, cursor, no
duplicates, 401 halts until the key changes, 429 honours Retry-After, other errors back off."""

from __future__ import annotations

import logging
import textwrap
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from service.config import BounceLogAccount
from service.settings import Settings
from service.store.bouncelogs import load_cursor
from service.store.bounces import list_bounces
from service.store.suppressions import active_suppressions
from tests.support.fakes.addy_failed import TOKEN, FakeAddy, failed_delivery
from tests.support.fakes.improvmx_logs import API_KEY, FakeImprovMX, event, log_entry
from tests.support.servers import serve_in_thread
from tests.support.steps import worker_deps
from workers.bouncelogs.job import pull_account, pull_bounce_logs
from workers.deps import WorkerDeps

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
HARD = ("HARD-BOUNCE", 550, "5.1.1 The email account that you tried to reach does not exist.")
SOFT = ("SOFT-BOUNCE", 421, "4.7.0 Try again later")


def _improvmx_logs() -> list[dict[str, object]]:
    """Newest first, as ImprovMX's sample: two bounces among ordinary deliveries."""
    return [
        log_entry("20201002014128.4", "2020-01-25 12:19:09+0000", event(*_ev(HARD, "2020-01-25 12:19:12+0000"))),
        log_entry(
            "20201002014128.3", "2020-01-25 12:18:46+0000", event("DELIVERED", "2020-01-25 12:18:47+0000", 250, "Sent.")
        ),
        log_entry(
            "20201002014128.2",
            "2020-01-25 11:30:41+0000",
            event(*_ev(SOFT, "2020-01-25 11:30:42+0000")),
            forward="later@gmail.example",
        ),
        log_entry(
            "20201002014128.1",
            "2020-01-25 11:00:00+0000",
            event("REFUSED", "2020-01-25 11:00:01+0000", 550, "5.7.1 SPAM"),
        ),
    ]


def _ev(spec: tuple[str, int, str], created: str) -> tuple[str, str, int, str]:
    return (spec[0], created, spec[1], spec[2])


@pytest.fixture
def improvmx() -> Iterator[tuple[FakeImprovMX, str]]:
    fake = FakeImprovMX(logs=_improvmx_logs())
    with serve_in_thread(fake.app()) as base:
        yield fake, base


@pytest.fixture
def addy() -> Iterator[tuple[FakeAddy, str]]:
    fake = FakeAddy(
        rows=[
            failed_delivery("0222b9fe-0003", "2019-10-01 09:02:00"),
            failed_delivery("0222b9fe-0002", "2019-10-01 09:01:00", bounce_type="spam", recipient_email="b@x.example"),
            failed_delivery("0222b9fe-0001", "2019-10-01 09:00:00", email_type="IR"),  # inbound rejection: skipped
        ]
    )
    with serve_in_thread(fake.app()) as base:
        yield fake, base


@pytest.fixture
async def deps(
    settings: Settings, improvmx: tuple[FakeImprovMX, str], addy: tuple[FakeAddy, str]
) -> AsyncIterator[WorkerDeps]:
    _write(settings, improvmx[1], addy[1])
    async with worker_deps(settings) as built:
        yield built


def _write(settings: Settings, improvmx_base: str, addy_base: str, imx_key: str = API_KEY) -> None:
    settings.config.write_text(
        textwrap.dedent(
            f"""
            outbound: {{allow_hosts: ["127.0.0.1"]}}
            bounce_logs:
              - {{name: imx, provider: improvmx, api_key: "{imx_key}", base_url: "{improvmx_base}/v3",
                  domain: piedpiper.example, interval_s: 300}}
              - {{name: addy, provider: addy, api_key: "{TOKEN}", base_url: "{addy_base}"}}
            """
        )
    )


def _account(deps: WorkerDeps, name: str) -> BounceLogAccount:
    return next(a for a in deps.config.current.bounce_logs if a.name == name)


async def test_improvmx_pages_through_the_logs_and_records_only_bounces(
    deps: WorkerDeps, improvmx: tuple[FakeImprovMX, str]
) -> None:
    fake, _ = improvmx
    assert await pull_account(deps, _account(deps, "imx"), now=NOW) == 2
    assert [r.get("next_cursor") for r in fake.requests] == [None, "20201002014128.3", "20201002014128.1"]
    rows = {(b.recipient, b.kind, b.reason, b.status, b.reply_code) for b in list_bounces(deps.engine)}
    assert rows == {
        ("richard@gmail.example", "hard", "user_unknown", "5.1.1", 550),
        ("later@gmail.example", "delayed", "policy", "4.7.0", 421),
    }
    assert set(active_suppressions(deps.engine, ["richard@gmail.example", "later@gmail.example"])) == {
        "richard@gmail.example"
    }
    cursor = load_cursor(deps.engine, "imx")
    assert cursor.cursor == "2020-01-25T12:19:09+00:00" and cursor.next_run_at == NOW + timedelta(seconds=300)


async def test_improvmx_not_due_yet_is_not_called_and_a_rerun_creates_nothing_new(
    deps: WorkerDeps, improvmx: tuple[FakeImprovMX, str]
) -> None:
    fake, _ = improvmx
    account = _account(deps, "imx")
    await pull_account(deps, account, now=NOW)
    calls = len(fake.requests)
    assert await pull_account(deps, account, now=NOW + timedelta(seconds=60)) == 0
    assert len(fake.requests) == calls
    fake.logs.insert(
        0,
        log_entry(
            "20201002014128.5",
            "2020-01-26 08:00:00+0000",
            event(*_ev(HARD, "2020-01-26 08:00:01+0000")),
            forward="new@gmail.example",
        ),
    )
    assert await pull_account(deps, account, now=NOW + timedelta(seconds=301)) == 1
    assert len(list_bounces(deps.engine)) == 3


async def test_addy_follows_pagination_and_skips_inbound_rejections(
    deps: WorkerDeps, addy: tuple[FakeAddy, str]
) -> None:
    fake, _ = addy
    assert await pull_account(deps, _account(deps, "addy"), now=NOW) == 2
    assert [r["page[number]"] for r in fake.requests] == ["1", "2"]
    rows = {(b.recipient, b.kind, b.reason, b.provider_event_id) for b in list_bounces(deps.engine)}
    # addy.io's own sample: "hard" with 5.7.1 and "Recipient not found": the text wins over the digit.
    assert rows == {
        ("user@recipient.example", "hard", "user_unknown", "0222b9fe-0003"),
        ("b@x.example", "soft", "policy", "0222b9fe-0002"),
    }
    assert await pull_account(deps, _account(deps, "addy"), now=NOW + timedelta(hours=1)) == 0


async def test_401_halts_until_the_key_changes(
    deps: WorkerDeps,
    settings: Settings,
    improvmx: tuple[FakeImprovMX, str],
    addy: tuple[FakeAddy, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake, base = improvmx
    fake.key = "a-rotated-key-0123456789"
    with caplog.at_level(logging.ERROR, logger="mailhook.bouncelogs"):
        assert await pull_account(deps, _account(deps, "imx"), now=NOW) == 0
    assert "refused the API key (HTTP 401)" in caplog.text and "bounce_logs.imx.api_key" in caplog.text
    calls = len(fake.requests)
    assert await pull_account(deps, _account(deps, "imx"), now=NOW + timedelta(days=1)) == 0
    assert len(fake.requests) == calls  # halted: not called again with the refused key
    _write(settings, base, addy[1], imx_key=fake.key)
    deps.config.reload()
    assert await pull_account(deps, _account(deps, "imx"), now=NOW + timedelta(days=1)) == 2


async def test_429_waits_for_retry_after(deps: WorkerDeps, addy: tuple[FakeAddy, str]) -> None:
    fake, _ = addy
    fake.script = [(429, {"Retry-After": "120"})]
    account = _account(deps, "addy")
    assert await pull_account(deps, account, now=NOW) == 0
    assert load_cursor(deps.engine, "addy").next_run_at == NOW + timedelta(seconds=120)
    assert await pull_account(deps, account, now=NOW + timedelta(seconds=119)) == 0
    assert len(fake.requests) == 1
    assert await pull_account(deps, account, now=NOW + timedelta(seconds=120)) == 2


async def test_server_errors_back_off_exponentially(deps: WorkerDeps, improvmx: tuple[FakeImprovMX, str]) -> None:
    fake, _ = improvmx
    fake.script = [(500, {}), (502, {})]
    account = _account(deps, "imx")
    await pull_account(deps, account, now=NOW)
    first = load_cursor(deps.engine, "imx")
    assert first.failures == 1 and first.next_run_at == NOW + timedelta(seconds=600)
    await pull_account(deps, account, now=first.next_run_at)
    second = load_cursor(deps.engine, "imx")
    assert second.failures == 2 and second.next_run_at == first.next_run_at + timedelta(seconds=1200)
    assert await pull_account(deps, account, now=second.next_run_at) == 2
    assert load_cursor(deps.engine, "imx").failures == 0


async def test_the_cron_job_pulls_every_account(deps: WorkerDeps) -> None:
    assert await pull_bounce_logs({"deps": deps}) == 4
    assert await pull_bounce_logs({"deps": deps}) == 0  # neither account is due again yet
