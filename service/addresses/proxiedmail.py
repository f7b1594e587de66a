"""ProxiedMail: a *proxy binding* whose ``callback_url`` is our webhook URL.

Facts from ../shared/seeds/000 (``POST /api/v1/proxy-bindings``) and ../shared/providers.md §1.6:

* Host ``https://proxiedmail.com``; every call carries the header ``Token: <api token>``.
* JSON:API bodies: ``{"data": {"type": "proxy_bindings", "attributes": {...}}}``.
* ``real_addresses`` are where ProxiedMail also forwards by mail. To get webhook-only delivery the
  docs say to use an address on ``@proxiedmail-int.int`` (or ``@int.proxiedmail.com``), so that is
  what we send unless the account lists ``real_addresses`` of its own.
* The create response is ``201`` with ``data`` a single binding (seed doc, OpenAPI); an older docs
  example shows ``data`` as a list, so both are accepted.
* ``GET /api/v1/proxy-bindings`` lists ``data: [binding]``; no pagination is documented.
* ``DELETE /api/v1/proxy-bindings/{id}`` appears only in a third-party reverse-engineered OpenAPI
  [T]; its success status is not documented, so 200 and 204 are both taken as done.
* Error bodies are not documented [U]; JSON:API ``errors[{title, detail}]`` and ``message`` are read.
"""

from __future__ import annotations

from typing import Any

from service.addresses.base import (
    AddressProvider,
    ProvisionedAddress,
    parse_provider_time,
    random_local_part,
)

#: "if you wish to omit email delivery somewhere and use only webhook, please use [this] domain" (seed doc).
WEBHOOK_ONLY_DOMAIN = "proxiedmail-int.int"


class ProxiedMail(AddressProvider):
    """One proxy binding per address; the binding's ``callback_url`` is the account's ``deliver_to``."""

    name = "proxiedmail"
    default_base_url = "https://proxiedmail.com"
    deliver_to = "url"
    required_fields = ()  # the proxy domain defaults to proxiedmail.com
    extra_fields = ("real_addresses",)
    default_domain = "proxiedmail.com"

    def auth_headers(self) -> dict[str, str]:
        return {"Token": self.api_key}

    async def create(self, local_part: str | None, domain: str | None) -> ProvisionedAddress:
        # The seed doc's request always names the proxy address ("the proxy-email we will issue for
        # you"), ten random lower-case characters in its examples; we do the same when not given.
        local = local_part or random_local_part(10)
        proxy = f"{local}@{domain or self.account.domain or self.default_domain}"
        real = list(self.account.real_addresses) or [f"{local}@{WEBHOOK_ONLY_DOMAIN}"]
        body = {
            "data": {
                "type": "proxy_bindings",
                "attributes": {"real_addresses": real, "proxy_address": proxy, "callback_url": self.target},
            }
        }
        response = await self.call("POST", "/api/v1/proxy-bindings", json=body, expect=(200, 201))
        payload = self.json(response)
        data = payload.get("data") if isinstance(payload, dict) else None
        if isinstance(data, list):  # the older docs example
            data = next((b for b in data if _proxy_address(b) == proxy), data[0] if data else None)
        if not isinstance(data, dict) or not _proxy_address(data) or not data.get("id"):
            raise self.shape_error("no data.id / data.attributes.proxy_address in the created binding")
        return _provisioned(data)

    async def delete(self, address: ProvisionedAddress) -> None:
        await self.call("DELETE", f"/api/v1/proxy-bindings/{address.provider_ref}", expect=(200, 202, 204))

    async def list(self) -> list[ProvisionedAddress]:
        response = await self.call("GET", "/api/v1/proxy-bindings")
        payload = self.json(response)
        bindings = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(bindings, list):
            raise self.shape_error("data is not a list of proxy bindings")
        return [
            _provisioned(b)
            for b in bindings
            if isinstance(b, dict) and (b.get("attributes") or {}).get("callback_url") == self.target
        ]


def _proxy_address(binding: Any) -> str | None:
    attributes = binding.get("attributes") if isinstance(binding, dict) else None
    value = attributes.get("proxy_address") if isinstance(attributes, dict) else None
    return value if isinstance(value, str) and value else None


def _provisioned(binding: dict[str, Any]) -> ProvisionedAddress:
    attributes = binding.get("attributes") or {}
    return ProvisionedAddress(
        address=str(attributes.get("proxy_address")),
        provider_ref=str(binding.get("id")),
        # "2024-01-08 00:08:22": no zone given; taken as UTC.
        created_at=parse_provider_time(attributes.get("created_at")),
    )
