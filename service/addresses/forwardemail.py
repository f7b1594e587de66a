"""Forward Email: a domain alias whose ``recipients`` is our webhook URL.

Facts from ../shared/seeds/002 (the API docs; "Authentication", "Pagination", "Aliases") and
../shared/providers.md §3.1:

* Base ``https://api.forwardemail.net``; HTTP Basic auth with the API token as the *user name*
  and an empty password (``curl -u API_TOKEN:``).
* ``POST /v1/domains/{domain}/aliases`` takes body parameters ``name`` (omitted: a random alias is
  made), ``recipients`` (e-mail addresses, FQDNs, IPs "and/or webhook URLs"), ``is_enabled``...
  The docs' examples send them form-encoded (``curl -d``), so do we.
* ``GET /v1/domains/{domain}/aliases`` pages with ``page`` (1-based) and ``limit`` (1..50 by the
  pagination section, 1000 since Nov 2024) and answers the ``X-Page-Count``/``X-Page-Current``
  headers. The opt-in flag is spelled ``paginate=true`` in the note and ``pagination=true`` in the
  example; we send the note's spelling.
* ``DELETE /v1/domains/{domain}/aliases/{alias_id}``.
* The alias object and the error body are not shown in the docs [U]. We read ``id``, ``name``,
  ``recipients`` and ``created_at`` (the fields the update/list parameters name), and the error
  text from ``message`` (Forward Email answers Boom-style ``{statusCode, error, message}``).
"""

from __future__ import annotations

from typing import Any

from service.addresses.base import (
    AddressProvider,
    ProvisionedAddress,
    basic_auth,
    parse_provider_time,
    read_pages,
    split_address,
)

_PAGE_SIZE = 50  # the documented maximum before the 2024 change; valid under both rules


class ForwardEmail(AddressProvider):
    """One alias per address; provider_ref is Forward Email's alias id."""

    name = "forwardemail"
    default_base_url = "https://api.forwardemail.net"
    deliver_to = "url"

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": basic_auth(self.api_key, "")}

    async def create(self, local_part: str | None, domain: str | None) -> ProvisionedAddress:
        domain = self.domain_for(domain)
        form = {"recipients": self.target, "is_enabled": "true"}
        if local_part:
            form["name"] = local_part
        response = await self.call("POST", f"/v1/domains/{domain}/aliases", data=form)
        alias = self.json(response)
        if not isinstance(alias, dict) or not alias.get("id") or not alias.get("name"):
            raise self.shape_error("no id/name in the created alias")
        return _provisioned(alias, domain)

    async def delete(self, address: ProvisionedAddress) -> None:
        _, domain = split_address(address.address)
        await self.call("DELETE", f"/v1/domains/{domain}/aliases/{address.provider_ref}", expect=(200, 204))

    async def list(self) -> list[ProvisionedAddress]:
        domain = self.domain_for()

        async def read(page: int, seen: int) -> tuple[list[Any], bool]:
            params = {"paginate": "true", "page": page, "limit": _PAGE_SIZE}
            response = await self.call("GET", f"/v1/domains/{domain}/aliases", params=params)
            aliases = self.json(response)
            if not isinstance(aliases, list):
                raise self.shape_error("the alias list is not a JSON array")
            return aliases, page < _int_header(response.headers.get("x-page-count"), default=page)

        return await read_pages(read, lambda alias: _provisioned(alias, domain) if self._ours(alias) else None)

    def _ours(self, alias: dict[str, Any]) -> bool:
        recipients = alias.get("recipients")
        return isinstance(recipients, list) and self.target in recipients


def _int_header(value: str | None, *, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _provisioned(alias: dict[str, Any], domain: str) -> ProvisionedAddress:
    return ProvisionedAddress(
        address=f"{alias['name']}@{domain}",
        provider_ref=str(alias["id"]),
        created_at=parse_provider_time(alias.get("created_at")),
    )
