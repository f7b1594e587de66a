"""Provider registry: the account's ``provider`` name picks the adapter (no ``if provider ==``)."""

from __future__ import annotations

from service.addresses.addy import Addy
from service.addresses.base import AddressProvider
from service.addresses.forwardemail import ForwardEmail
from service.addresses.improvmx import ImprovMX
from service.addresses.mittwald import Mittwald
from service.addresses.proxiedmail import ProxiedMail

ADDRESS_PROVIDERS: dict[str, type[AddressProvider]] = {
    cls.name: cls for cls in (ProxiedMail, ImprovMX, ForwardEmail, Addy, Mittwald)
}
