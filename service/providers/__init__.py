"""Provider registry: the source's ``provider`` name picks the adapter (no ``if provider ==``).

Inbound-mail and bounce-webhook providers share one registry, so a source is configured the
same way whichever kind it is; ``service.ingest.hooks`` stores what ``parse`` returns by kind.
"""

from __future__ import annotations

from service.providers.base import BounceProvider, Delivery, InboundProvider, Provider, ProviderServices
from service.providers.forwardemail import ForwardEmail
from service.providers.forwardemail_bounces import ForwardEmailBounces
from service.providers.improvmx import ImprovMX
from service.providers.mailgun import Mailgun
from service.providers.mailgun_events import MailgunEvents
from service.providers.postmark import Postmark
from service.providers.postmark_bounces import PostmarkBounces
from service.providers.proxiedmail import ProxiedMail
from service.providers.raw import RawMime
from service.providers.sendgrid import SendGrid
from service.providers.sendgrid_events import SendGridEvents
from service.providers.ses import SesBounces
from service.providers.ses_inbound import SesInbound

INBOUND_PROVIDERS: dict[str, type[InboundProvider]] = {
    cls.name: cls for cls in (ProxiedMail, ImprovMX, ForwardEmail, RawMime, Postmark, Mailgun, SendGrid, SesInbound)
}
BOUNCE_PROVIDERS: dict[str, type[BounceProvider]] = {
    cls.name: cls for cls in (SesBounces, PostmarkBounces, MailgunEvents, SendGridEvents, ForwardEmailBounces)
}
PROVIDERS: dict[str, type[Provider]] = {**INBOUND_PROVIDERS, **BOUNCE_PROVIDERS}


def get_provider(name: str) -> Provider:
    return PROVIDERS[name]()


__all__ = [
    "BOUNCE_PROVIDERS",
    "INBOUND_PROVIDERS",
    "PROVIDERS",
    "BounceProvider",
    "Delivery",
    "InboundProvider",
    "Provider",
    "ProviderServices",
    "get_provider",
]
