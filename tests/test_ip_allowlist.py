"""Per-source IP allow-lists, with X-Forwarded-For believed only from configured proxies."""

from __future__ import annotations

import httpx
import pytest

from service.settings import Settings
from service.web.app import create_app
from tests.conftest import IMPROVMX_SECRET, fixture_bytes
from tests.support.servers import serve_in_thread


def _config(settings: Settings, allow: str, proxies: str = "[]") -> None:
    settings.config.write_text(
        f"""
sources:
  - name: improvmx
    provider: improvmx
    secrets: ["{IMPROVMX_SECRET}"]
    allow_ips: [{allow}]
trusted_proxies: {proxies}
"""
    )


async def _post(settings: Settings, headers: dict[str, str] | None = None) -> httpx.Response:
    with serve_in_thread(create_app(settings)) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            return await client.post(
                f"/hooks/improvmx/{IMPROVMX_SECRET}", content=fixture_bytes("improvmx/otp.json"), headers=headers
            )


async def test_listed_address_is_accepted(settings: Settings) -> None:
    _config(settings, "127.0.0.0/8")
    assert (await _post(settings)).status_code == 200


async def test_unlisted_address_is_403_with_a_json_reason(settings: Settings) -> None:
    _config(settings, "15.237.103.194")
    response = await _post(settings)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "status"),
    [
        ("[]", "15.237.103.194", 403),  # not a configured proxy: the header is ignored
        ('["127.0.0.1"]', "15.237.103.194", 200),  # our proxy vouches for the provider's address
        ('["127.0.0.1"]', "15.237.103.194, 203.0.113.9", 403),  # right-most untrusted hop counts
        ('["127.0.0.1", "203.0.113.0/24"]', "15.237.103.194, 203.0.113.9", 200),  # a chain of our proxies
    ],
)
async def test_forwarded_for_is_believed_only_from_trusted_proxies(
    settings: Settings, proxies: str, forwarded: str, status: int
) -> None:
    _config(settings, "15.237.103.194", proxies)
    assert (await _post(settings, {"X-Forwarded-For": forwarded})).status_code == status


async def test_wrong_secret_is_401_even_from_an_unlisted_address(settings: Settings) -> None:
    """The secret is checked first, so an address check never tells a stranger a source exists."""
    _config(settings, "15.237.103.194")
    with serve_in_thread(create_app(settings)) as base:
        response = httpx.post(f"{base}/hooks/improvmx/wrong-wrong-wrong-wrong", content=b"{}")
    assert response.status_code == 401
