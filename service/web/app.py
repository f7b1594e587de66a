"""``create_app(settings)``: the Starlette application, with resources held in lifespan state."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette

from service.api.auth import TokenCache
from service.api.content import ContentReader, MessageContent, NoExtraction
from service.api.waiters import WaitHub
from service.config import ConfigHolder
from service.errors import EXCEPTION_HANDLERS
from service.ingest.ingestor import Ingestor
from service.outbound import GuardedClients
from service.providers import PROVIDERS, ProviderServices
from service.runtime.process import freeze_startup_objects
from service.runtime.reload import install_sighup_reload
from service.runtime.sentry import init_sentry
from service.settings import Settings
from service.ui.errors import UI_EXCEPTION_HANDLERS
from service.web.routes import ROUTES
from service.web.state import AppState


def create_app(settings: Settings | None = None, *, reader: ContentReader | None = None) -> Starlette:
    """``reader``: the MIME reader and code/link extractors the read API uses. They live on the
    worker side, so the composition root passes them in (``service.cli.web.create_web_app``);
    without one the API answers ``code: null`` and no links."""
    settings = settings or Settings()
    init_sentry(
        settings.sentry_dsn.get_secret_value() if settings.sentry_dsn else None,
        component="web",
        environment=settings.environment,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        ingestor = Ingestor(settings)
        config = ConfigHolder.load(settings.config, providers=PROVIDERS)
        outbound = GuardedClients(lambda: config.current.outbound.allow_hosts)
        waiters = WaitHub(settings.redis_url, settings.notify_channel)
        app.state.mailhook = AppState(
            settings=settings,
            config=config,
            ingest=ingestor,
            outbound=outbound,
            providers=ProviderServices(settings=settings, http=outbound.get),
            content=MessageContent(reader or NoExtraction(), ingestor.blobs),
            waiters=waiters,
            tokens=TokenCache(ingestor.engine),
        )
        install_sighup_reload(app.state.mailhook.config)
        await ingestor.start()
        await waiters.start()
        freeze_startup_objects()
        try:
            yield
        finally:
            await waiters.stop()
            await ingestor.stop()
            await outbound.aclose()

    return Starlette(
        routes=ROUTES, exception_handlers={**EXCEPTION_HANDLERS, **UI_EXCEPTION_HANDLERS}, lifespan=lifespan
    )
