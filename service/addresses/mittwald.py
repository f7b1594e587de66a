"""mittwald mStudio: a forwarding mail address whose ``forwardAddresses`` reach our SMTP ingress.

mittwald has no inbound-mail webhook (../shared/providers.md §5): ``forwardAddresses`` must be
e-mail addresses, so ``deliver_to`` is an address on a domain ``mailhook smtp`` accepts.

Facts from ../shared/seeds/003 ("Managing email accounts over the API") and the API v2 reference
summarised in ../shared/providers.md §5:

* Base ``https://api.mittwald.de``; ``Authorization: Bearer <API token>``.
* Create a forwarding address: ``POST /v2/projects/{projectId}/mail-addresses`` with
  ``{"address", "forwardAddresses": [...]}`` -> 201. The how-to spells the collection
  ``/mailaddresses`` (and delete ``/v2/mailaddresses/{id}``); the reference, which the how-to defers
  to, names ``mail-addresses``, which is what we call.
* The 201 body is ``{"id"}`` in the reference [U: not in the how-to]; the address is the one we sent.
* ``GET /v2/projects/{projectId}/mail-addresses`` -> ``[MailAddress]`` (``id``, ``address``,
  ``forwardAddresses``, ``updatedAt``, ... — no creation time). Paging is not documented there [U].
* ``DELETE /v2/mail-addresses/{id}`` -> 204.
* Error bodies are ``{"type", "message", ...}`` [U]; ``message`` is read.
"""

from __future__ import annotations

from typing import Any

from service.addresses.base import AddressProvider, ProvisionedAddress, random_local_part


class Mittwald(AddressProvider):
    """One forwarding mail address per address; provider_ref is mittwald's mail-address id."""

    name = "mittwald"
    default_base_url = "https://api.mittwald.de"
    deliver_to = "email"
    required_fields = ("domain", "project_id")
    extra_fields = ("project_id",)

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    @property
    def _collection(self) -> str:
        return f"/v2/projects/{self.account.project_id}/mail-addresses"

    async def create(self, local_part: str | None, domain: str | None) -> ProvisionedAddress:
        address = f"{local_part or random_local_part()}@{self.domain_for(domain)}"
        body = {"address": address, "forwardAddresses": [self.target]}
        created = self.json(await self.call("POST", self._collection, json=body, expect=(201, 200)))
        if not isinstance(created, dict) or not created.get("id"):
            raise self.shape_error("no id in the created mail address")
        return ProvisionedAddress(address=address, provider_ref=str(created["id"]))

    async def delete(self, address: ProvisionedAddress) -> None:
        await self.call("DELETE", f"/v2/mail-addresses/{address.provider_ref}", expect=(204, 200))

    async def list(self) -> list[ProvisionedAddress]:
        items = self.json(await self.call("GET", self._collection))
        if not isinstance(items, list):
            raise self.shape_error("the mail-address list is not a JSON array")
        return [
            ProvisionedAddress(address=str(item["address"]), provider_ref=str(item["id"]))
            for item in items
            if isinstance(item, dict) and item.get("id") and self._ours(item)
        ]

    def _ours(self, item: dict[str, Any]) -> bool:
        forwards = item.get("forwardAddresses")
        return isinstance(forwards, list) and self.target.casefold() in (str(f).casefold() for f in forwards)
