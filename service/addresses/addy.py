"""addy.io (AnonAddy): an alias whose recipient is an address that reaches our SMTP ingress.

addy.io has no webhook (../shared/providers.md §4.1): it re-sends mail by SMTP to the alias's
recipients, so ``deliver_to`` is an address on a domain ``mailhook smtp`` accepts. That address
must already be a *verified* recipient of the account (addy.io mails it a verification link).

Facts from ../shared/seeds/001 (API v1):

* Base ``https://app.addy.io``; headers ``Authorization: Bearer {token}``, ``Content-Type:
  application/json``, ``X-Requested-With: XMLHttpRequest``, ``Accept: application/json``.
* ``GET /api/v1/recipients?filter[verified]=true`` -> ``{"data": [{id, email, email_verified_at...}]}``.
* ``POST /api/v1/aliases`` ``{domain, description, format, local_part, recipient_ids}`` -> 201
  ``{"data": alias}``; ``format`` is ``random_characters``, ``uuid``, ``random_words`` or
  ``custom`` (needs ``local_part``; "not available for shared domains").
* ``GET /api/v1/aliases?page[number]=N&page[size]=100&recipient={id}`` -> ``{"data", "links",
  "meta": {current_page, last_page, ...}}``; ``recipient`` returns the aliases using that recipient.
* ``DELETE /api/v1/aliases/{id}`` -> 204. This *deletes* (the alias can be restored, and its
  address stays taken); ``DELETE …/forget`` would drop it for good.
* Errors: 401 bad key, 403, 404, 422 validation, 429 "too many requests *or* you have reached your
  limit for new aliases" (the latter will not clear by waiting, so our retries stay bounded).
  Bodies are not shown; addy.io is Laravel, whose bodies are ``{"message", "errors"?}`` [U].
"""

from __future__ import annotations

from typing import Any

from service.addresses.base import AddressProvider, ProviderError, ProvisionedAddress, parse_provider_time, read_pages

_PAGE_SIZE = 100  # documented maximum


class Addy(AddressProvider):
    """One alias per address; provider_ref is addy.io's alias UUID."""

    name = "addy"
    default_base_url = "https://app.addy.io"
    deliver_to = "email"
    extra_fields = ("recipient_id", "alias_format")

    _recipient_id: str | None = None

    def auth_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.api_key}",
            "Content-Type": "application/json",
            "X-Requested-With": "XMLHttpRequest",
        }

    async def create(self, local_part: str | None, domain: str | None) -> ProvisionedAddress:
        body: dict[str, Any] = {
            "domain": domain or self.account.domain,
            "description": "made by Mailhook",
            "format": "custom" if local_part else self.account.alias_format,
            "recipient_ids": [await self.recipient_id()],
        }
        if local_part:
            body["local_part"] = local_part
        response = await self.call("POST", "/api/v1/aliases", json=body, expect=(201, 200))
        alias = _data(self.json(response))
        if not isinstance(alias, dict) or not alias.get("email") or not alias.get("id"):
            raise self.shape_error("no data.id / data.email in the created alias")
        return _provisioned(alias)

    async def delete(self, address: ProvisionedAddress) -> None:
        await self.call("DELETE", f"/api/v1/aliases/{address.provider_ref}", expect=(204, 200))

    async def list(self) -> list[ProvisionedAddress]:
        recipient = await self.recipient_id()

        async def read(page: int, seen: int) -> tuple[list[Any], bool]:
            params = {"page[number]": page, "page[size]": _PAGE_SIZE, "recipient": recipient}
            payload = self.json(await self.call("GET", "/api/v1/aliases", params=params))
            aliases = _data(payload)
            if not isinstance(aliases, list):
                raise self.shape_error("data is not a list of aliases")
            meta = payload.get("meta") if isinstance(payload, dict) else None
            last = meta.get("last_page") if isinstance(meta, dict) else None
            return aliases, isinstance(last, int) and page < last

        return await read_pages(read, _provisioned)

    async def recipient_id(self) -> str:
        """The account's ``recipient_id``, else the verified recipient whose e-mail is ``deliver_to``."""
        if self.account.recipient_id:
            return self.account.recipient_id
        if self._recipient_id is None:
            payload = self.json(await self.call("GET", "/api/v1/recipients", params={"filter[verified]": "true"}))
            recipients = _data(payload)
            if not isinstance(recipients, list):
                raise self.shape_error("data is not a list of recipients")
            wanted = self.target.casefold()
            match = next(
                (r for r in recipients if isinstance(r, dict) and str(r.get("email", "")).casefold() == wanted), None
            )
            if match is None:
                raise ProviderError(
                    self.account.name,
                    f"addy.io has no verified recipient {self.target} on the account; add it in addy.io and click its "
                    "verification link, or set recipient_id",
                )
            self._recipient_id = str(match["id"])
        return self._recipient_id


def _data(payload: Any) -> Any:
    return payload.get("data") if isinstance(payload, dict) else None


def _provisioned(alias: dict[str, Any]) -> ProvisionedAddress:
    return ProvisionedAddress(
        address=str(alias["email"]),
        provider_ref=str(alias["id"]),
        created_at=parse_provider_time(alias.get("created_at")),  # "2019-10-01 09:00:00", zone not given
    )
