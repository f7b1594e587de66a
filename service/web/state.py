"""What the web app holds for its lifetime (lifespan state), built from settings at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from service.api.auth import TokenCache
from service.api.content import MessageContent
from service.api.waiters import WaitHub
from service.config import ConfigHolder
from service.ingest.ingestor import Ingestor
from service.outbound import GuardedClients
from service.providers.base import ProviderServices
from service.settings import Settings


@dataclass
class AppState:
    settings: Settings
    config: ConfigHolder
    ingest: Ingestor
    #: Outbound clients for providers that verify over the network (SNS certificates).
    outbound: GuardedClients
    providers: ProviderServices
    #: Code, links and bodies of stored messages for the read API (and the UI).
    content: MessageContent
    #: This process's subscriber to stored-mail notifications, waking ``GET /api/v1/wait``.
    waiters: WaitHub
    #: API tokens verified in the last second.
    tokens: TokenCache
