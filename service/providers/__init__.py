"""Provider registry: the source's ``provider`` name picks the adapter (no ``if provider ==``)."""

from __future__ import annotations

from service.providers.base import Delivery, InboundProvider
from service.providers.forwardemail import ForwardEmail
from service.providers.improvmx import ImprovMX
from service.providers.mailgun import Mailgun
from service.providers.postmark import Postmark
from service.providers.proxiedmail import ProxiedMail
from service.providers.raw import RawMime
from service.providers.sendgrid import SendGrid

PROVIDERS: dict[str, type[InboundProvider]] = {
    cls.name: cls for cls in (ProxiedMail, ImprovMX, ForwardEmail, RawMime, Postmark, Mailgun, SendGrid)
}


def get_provider(name: str) -> InboundProvider:
    return PROVIDERS[name]()


__all__ = ["PROVIDERS", "Delivery", "InboundProvider", "get_provider"]
