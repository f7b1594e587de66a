"""ImprovMX: an alias on the account's domain whose ``forward`` is our webhook URL.

Facts from ../shared/seeds/004 (API v3) and ../shared/providers.md §2.1:

* Base ``https://api.improvmx.com/v3``; HTTP Basic auth with user ``api`` and the key as password.
* ``POST /domains/{domain}/aliases/`` ``{"alias", "forward"}`` -> ``{"alias": {forward, alias, id},
  "success": true}``. ``forward`` may be a URL (a webhook, premium plans) or several destinations
  separated by commas, so listing matches our URL among them.
* ``GET /domains/{domain}/aliases/?page=N`` (1-based) -> ``{"aliases", "limit", "page", "total"}``.
* ``DELETE /domains/{domain}/aliases/{alias}`` -> ``{"success": true}``: by alias *name*.
* Errors: ``{"errors": {"field": ["message", ...]}, "success": false}``; 401 bad key, 403 plan.
* 429 and its headers are not in the v3 docs [U]; ``Retry-After`` is honoured when sent.
"""

from __future__ import annotations

from typing import Any

from service.addresses.base import (
    AddressProvider,
    ProvisionedAddress,
    basic_auth,
    parse_provider_time,
    random_local_part,
    read_pages,
    split_address,
)


class ImprovMX(AddressProvider):
    """One alias per address; provider_ref is ImprovMX's numeric alias id (delete goes by name)."""

    name = "improvmx"
    default_base_url = "https://api.improvmx.com/v3"
    deliver_to = "url"

    def auth_headers(self) -> dict[str, str]:
        # The docs write it as "Authorization: Basic api:{your_api_key}", i.e. Basic auth (base64).
        return {"Authorization": basic_auth("api", self.api_key)}

    async def create(self, local_part: str | None, domain: str | None) -> ProvisionedAddress:
        domain = self.domain_for(domain)
        body = {"alias": local_part or random_local_part(), "forward": self.target}
        response = await self.call("POST", f"/domains/{domain}/aliases/", json=body, expect=(200, 201))
        alias = self._ok(self.json(response)).get("alias")
        if not isinstance(alias, dict) or not alias.get("alias"):
            raise self.shape_error("no alias object in the create response")
        return _provisioned(alias, domain)

    async def delete(self, address: ProvisionedAddress) -> None:
        alias, domain = split_address(address.address)
        response = await self.call("DELETE", f"/domains/{domain}/aliases/{alias}")
        self._ok(self.json(response))

    async def list(self) -> list[ProvisionedAddress]:
        domain = self.domain_for()

        async def read(page: int, seen: int) -> tuple[list[Any], bool]:
            response = await self.call("GET", f"/domains/{domain}/aliases/", params={"page": page})
            payload = self._ok(self.json(response))
            aliases = payload.get("aliases")
            if not isinstance(aliases, list):
                raise self.shape_error("aliases is not a list")
            total = payload.get("total")
            return aliases, isinstance(total, int) and seen + len(aliases) < total

        return await read_pages(read, lambda alias: _provisioned(alias, domain) if self._ours(alias) else None)

    def _ours(self, alias: dict[str, Any]) -> bool:
        destinations = str(alias.get("forward") or "").split(",")
        return self.target in (d.strip() for d in destinations)

    def _ok(self, payload: Any) -> dict[str, Any]:
        """Every documented response carries ``success``; false means the call did not take effect."""
        if not isinstance(payload, dict):
            raise self.shape_error("expected a JSON object")
        if payload.get("success") is False:
            raise self.shape_error(f"success: false ({self.error_message(payload) or 'no reason given'})")
        return payload


def _provisioned(alias: dict[str, Any], domain: str) -> ProvisionedAddress:
    return ProvisionedAddress(
        address=f"{alias['alias']}@{domain}",
        provider_ref=str(alias.get("id", alias["alias"])),
        created_at=parse_provider_time(alias.get("created")),  # epoch milliseconds in list responses
    )
