"""The ``addresses:`` section of ``mailhook.yaml``: provider accounts that can make addresses.

```yaml
addresses:
  - name: pm
    provider: proxiedmail
    api_key: ${PROXIEDMAIL_API_KEY}
    deliver_to: https://mailhook.example.com/hooks/proxiedmail/${PROXIEDMAIL_HOOK_SECRET}
  - name: addy
    provider: addy
    api_key: ${ADDY_API_KEY}
    domain: anonaddy.me
    deliver_to: inbox@mx.mailhook.example.com   # a verified addy.io recipient our SMTP accepts
```

``deliver_to`` is a secret: for webhook providers it is our hook URL with the source secret in
its path. Imports nothing from ``service.config`` (which imports this module for ``AppConfig``).
"""

from __future__ import annotations

import re
from operator import attrgetter
from typing import Annotated

from pydantic import field_validator, model_validator

from service.addresses.account import AddressAccount, is_http_url
from service.addresses.registry import ADDRESS_PROVIDERS
from service.source_name import unique

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s]+$")
#: Fields that only some providers use; setting one for another provider is a mistake we report.
_PROVIDER_FIELDS = ("project_id", "recipient_id", "alias_format", "real_addresses")


class ConfiguredAccount(AddressAccount):
    """An account as the config holds it: its ``provider`` is a registered adapter and its
    fields are the ones that adapter needs and reads."""

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        if value not in ADDRESS_PROVIDERS:
            raise ValueError(f"unknown provider {value!r}; known: {', '.join(sorted(ADDRESS_PROVIDERS))}")
        return value

    @model_validator(mode="after")
    def _fits_provider(self) -> ConfiguredAccount:
        provider = ADDRESS_PROVIDERS[self.provider]
        missing = [f for f in provider.required_fields if not getattr(self, f)]
        if missing:
            raise ValueError(f"provider {self.provider} needs {', '.join(missing)}")
        stray = [f for f in _PROVIDER_FIELDS if f in self.model_fields_set and f not in provider.extra_fields]
        if stray:
            raise ValueError(f"{', '.join(stray)} is not used by provider {self.provider}")
        target = self.deliver_to.get_secret_value()
        if provider.deliver_to == "url" and not is_http_url(target):
            raise ValueError(
                f"deliver_to must be this Mailhook's webhook URL for {self.provider} (http:// or https://)"
            )
        if provider.deliver_to == "email" and not _EMAIL.match(target):
            raise ValueError(
                f"deliver_to must be an e-mail address that reaches this Mailhook's SMTP for {self.provider}"
            )
        return self


#: The type of ``AppConfig.addresses``.
AddressAccounts = Annotated[list[ConfiguredAccount], unique(attrgetter("name"), "address account names")]
