"""Every address provider against its local fake: create, list, delete, a bad key, 429 handling.

The fakes (tests/support/fakes/) answer as each provider's documentation says; the same adapter
code talks to the real service when ``base_url`` is left out.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from service.addresses.addy import Addy
from service.addresses.base import (
    MAX_PAGES,
    AddressProvider,
    ProviderAuthError,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProvisionedAddress,
    read_pages,
)
from service.addresses.registry import ADDRESS_PROVIDERS
from service.addresses.service import provider_for
from tests.support.fakes.base import FakeAPI, Swappable
from tests.support.fakes.cases import CASES, Case
from tests.support.servers import serve_in_thread

#: Each fake's documented (or, where undocumented, typical) answer to a taken address.
DUPLICATE = {
    "addy": "(POST /api/v1/aliases -> 422): The local part has already been taken.",
    "forwardemail": "(POST /v1/domains/example.com/aliases -> 400): Alias already exists for domain.",
    "improvmx": "(POST /v3/domains/example.com/aliases/ -> 400): alias: This alias already exists.",
    "mittwald": "(POST /v2/projects/p-123/mail-addresses -> 409): the mail address already exists",
    "proxiedmail": "(POST /api/v1/proxy-bindings -> 422): The proxy address has already been taken.",
}


class Sleeps(list[float]):
    """Records the waits instead of sleeping, so retry tests are fast and exact."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, tuple[Swappable, str]]]:
    """One loopback server per provider for the module; each test swaps in a fresh fake."""
    with ExitStack() as stack:
        running = {}
        for name, case in CASES.items():
            app = Swappable(case.make_fake().app())
            running[name] = (app, stack.enter_context(serve_in_thread(app)))
        yield running


@pytest.fixture(params=sorted(CASES))
def served(request: pytest.FixtureRequest, servers: dict[str, tuple[Swappable, str]]) -> tuple[Case, FakeAPI, str]:
    case = CASES[request.param]
    fake = case.make_fake()
    app, base = servers[request.param]
    app.app = fake.app()
    return case, fake, base


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def _provider(
    served: tuple[Case, FakeAPI, str], http: httpx.AsyncClient, sleeps: Sleeps | None = None, **overrides: Any
) -> AddressProvider:
    case, _, base = served
    return provider_for(case.account(base, **overrides), http, sleep=sleeps if sleeps is not None else Sleeps())


def test_every_provider_has_a_fake_case() -> None:
    assert set(CASES) == set(ADDRESS_PROVIDERS)


async def test_create_list_delete(served: tuple[Case, FakeAPI, str], http: httpx.AsyncClient) -> None:
    case, _, _ = served
    provider = _provider(served, http)

    made = await provider.create("signup", None)

    assert made.address == f"signup@{case.domain}"
    assert made.provider_ref
    listed = await provider.list()
    assert [a.address for a in listed] == [made.address]
    assert listed[0].provider_ref == made.provider_ref
    await provider.delete(made)
    assert await provider.list() == []


async def test_create_without_a_local_part(served: tuple[Case, FakeAPI, str], http: httpx.AsyncClient) -> None:
    case, _, _ = served
    made = await _provider(served, http).create(None, None)
    local, _, domain = made.address.partition("@")
    assert local and domain == case.domain


async def test_list_leaves_out_addresses_delivering_elsewhere(
    served: tuple[Case, FakeAPI, str], http: httpx.AsyncClient
) -> None:
    case, fake, _ = served
    provider = _provider(served, http)
    target = provider.target
    other = "https://elsewhere.test/hook" if target.startswith("https://") else "someone@example.org"
    case.seed_foreign(fake, f"theirs@{case.domain}", other)
    case.seed_foreign(fake, f"found@{case.domain}", target)

    assert [a.address for a in await provider.list()] == [f"found@{case.domain}"]


async def test_a_bad_key_is_an_auth_error_naming_the_account(
    served: tuple[Case, FakeAPI, str], http: httpx.AsyncClient
) -> None:
    case, _, _ = served
    provider = _provider(served, http, api_key="wrong-key")

    with pytest.raises(ProviderAuthError) as caught:
        await provider.create("signup", None)

    message = str(caught.value)
    assert message.startswith(f"{case.provider}: {case.provider} refused the API key")
    assert "-> 401; check api_key)" in message
    assert caught.value.status == 401
    assert "wrong-key" not in message


async def test_429_is_retried_after_retry_after(served: tuple[Case, FakeAPI, str], http: httpx.AsyncClient) -> None:
    case, fake, _ = served
    sleeps = Sleeps()
    provider = _provider(served, http, sleeps)
    if case.provider == "addy":
        assert isinstance(provider, Addy)
        await provider.recipient_id()  # looked up before the throttle
    fake.rate_limit_next(2, retry_after="3")

    made = await provider.create("signup", None)

    assert made.address == f"signup@{case.domain}"
    assert sleeps == [3.0, 3.0]
    assert [m for m, _ in fake.requests].count("POST") == 3


async def test_429_past_the_retry_budget_raises_rate_limited(
    served: tuple[Case, FakeAPI, str], http: httpx.AsyncClient
) -> None:
    case, fake, _ = served
    sleeps = Sleeps()
    provider = _provider(served, http, sleeps, max_retries=1)
    fake.rate_limit_next(10, retry_after="2")

    with pytest.raises(ProviderRateLimited) as caught:
        await provider.list()

    assert caught.value.retry_after == 2.0
    assert sleeps == [2.0]
    assert "rate limited by" in str(caught.value) and "after 2 attempt(s)" in str(caught.value)


async def test_a_retry_after_longer_than_we_wait_raises_at_once(
    served: tuple[Case, FakeAPI, str], http: httpx.AsyncClient
) -> None:
    _, fake, _ = served
    sleeps = Sleeps()
    provider = _provider(served, http, sleeps, max_retry_wait_s=30)
    fake.rate_limit_next(1, retry_after="3600")

    with pytest.raises(ProviderRateLimited) as caught:
        await provider.list()

    assert caught.value.retry_after == 3600.0 and sleeps == []
    assert "wait 3600 s" in str(caught.value)


async def test_deleting_what_the_provider_does_not_have_is_not_found(
    served: tuple[Case, FakeAPI, str], http: httpx.AsyncClient
) -> None:
    case, _, _ = served
    gone = ProvisionedAddress(f"gone@{case.domain}", "00000000-0000-0000-0000-000000000000")
    with pytest.raises(ProviderNotFound):
        await _provider(served, http).delete(gone)


async def test_the_providers_own_error_message_is_passed_on(
    served: tuple[Case, FakeAPI, str], http: httpx.AsyncClient
) -> None:
    case, _, _ = served
    provider = _provider(served, http)
    await provider.create("taken", None)

    with pytest.raises(ProviderError) as caught:
        await provider.create("taken", None)

    assert str(caught.value).endswith(DUPLICATE[case.provider])


async def test_unreachable_provider_is_a_one_line_provider_error(http: httpx.AsyncClient) -> None:
    case = CASES["improvmx"]
    provider = provider_for(case.account("http://127.0.0.1:9", timeout_s=2), http)
    with pytest.raises(ProviderError) as caught:
        await provider.list()
    assert str(caught.value).startswith("improvmx: cannot reach 127.0.0.1:9")
    assert "\n" not in str(caught.value)


async def test_a_real_wait_honours_retry_after(http: httpx.AsyncClient) -> None:
    case = CASES["forwardemail"]
    fake = case.make_fake()
    fake.rate_limit_next(1, retry_after="1")
    with serve_in_thread(fake.app()) as base:
        provider = provider_for(case.account(base), http)
        started = time.monotonic()
        assert await provider.list() == []
        assert time.monotonic() - started >= 1.0


async def test_429_without_retry_after_waits_the_default(
    served: tuple[Case, FakeAPI, str], http: httpx.AsyncClient
) -> None:
    _, fake, _ = served
    sleeps = Sleeps()
    fake.rate_limit_next(1, retry_after=None)
    assert await _provider(served, http, sleeps).list() == []
    assert sleeps == [AddressProvider.default_retry_after_s]


def _echoing_improvmx() -> Starlette:
    """An ImprovMX that quotes the bad ``forward`` back (as validation messages often do), then fails."""

    async def create(request: Request) -> Response:
        body = await request.json()
        return JSONResponse({"errors": {"forward": [f"{body['forward']}\nis not allowed"]}, "success": False}, 400)

    async def index(request: Request) -> Response:
        return PlainTextResponse("<html>\n502 Bad Gateway\n</html>", 502)

    return Starlette(
        routes=[
            Route("/v3/domains/example.com/aliases/", create, methods=["POST"]),
            Route("/v3/domains/example.com/aliases/", index, methods=["GET"]),
        ]
    )


async def test_error_text_is_one_line_and_never_shows_our_hook_url(http: httpx.AsyncClient) -> None:
    case = CASES["improvmx"]
    with serve_in_thread(_echoing_improvmx()) as base:
        provider = provider_for(case.account(base), http)
        with pytest.raises(ProviderError) as refused:
            await provider.create("x", None)
        with pytest.raises(ProviderError) as broken:
            await provider.list()
    assert str(refused.value).endswith("-> 400): forward: <deliver_to> is not allowed")
    assert provider.target not in str(refused.value)
    assert str(broken.value) == (
        "improvmx: improvmx error (GET /v3/domains/example.com/aliases/ -> 502): <html> 502 Bad Gateway </html>"
    )


async def test_read_pages_stops_at_the_last_page_an_empty_page_or_the_bound() -> None:
    calls: list[tuple[int, int]] = []

    def paged(pages: int, last: int) -> Any:
        async def read(page: int, seen: int) -> tuple[list[Any], bool]:
            calls.append((page, seen))
            items: list[Any] = [{"n": page * 10 + i} for i in range(2)] if page <= pages else []
            return [*items, "not an object"] if items else [], page < last

        return read

    def keep(item: dict[str, Any]) -> ProvisionedAddress | None:
        return ProvisionedAddress(f"a{item['n']}@example.org", str(item["n"])) if item["n"] % 2 == 0 else None

    found = await read_pages(paged(pages=5, last=3), keep)
    assert [a.provider_ref for a in found] == ["10", "20", "30"]
    assert calls == [(1, 0), (2, 3), (3, 6)]  # ``seen`` counts every item, kept or not
    calls.clear()
    assert [a.provider_ref for a in await read_pages(paged(pages=1, last=9), keep)] == ["10"]
    assert calls == [(1, 0), (2, 3)]  # the empty page ends the list although more were announced
    calls.clear()
    await read_pages(paged(pages=10**6, last=10**6), keep)
    assert len(calls) == MAX_PAGES
