"""Resources a worker holds for its lifetime (arq ``ctx['deps']``), built once at start-up.

A plain bundle of handles (settings, database, blobs, config, queue, HTTP clients, suppression
list): it imports nothing from the pipeline or the steps, so steps can name it without an import
loop. The compiled pipelines live beside it (``workers.pipeline.config.CompiledConfigHolder``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from sqlalchemy import Engine

from service.config import ConfigHolder
from service.handoff.queue import JobQueue
from service.outbound import GuardedClients
from service.settings import Settings
from service.store.blobs import BlobStore
from service.store.suppressions import StoreSuppressionList, SuppressionList
from workers.pipeline.txn import TransactionBatcher


@dataclass
class WorkerDeps:
    settings: Settings
    engine: Engine
    blobs: BlobStore
    config: ConfigHolder
    queue: JobQueue | None = None
    #: Addresses forwarding steps skip (bounces, complaints); the store's list unless given.
    suppressions: SuppressionList | None = None
    _clients: GuardedClients = field(init=False)
    _txn: TransactionBatcher | None = None

    def __post_init__(self) -> None:
        if self.suppressions is None:
            self.suppressions = StoreSuppressionList(self.engine)
        self._clients = GuardedClients(lambda: self.config.current.outbound.allow_hosts, timeout=15.0)

    @property
    def txn(self) -> TransactionBatcher:
        """Where jobs run their database work, so concurrent jobs share commits."""
        if self._txn is None:
            self._txn = TransactionBatcher(self.engine)
        return self._txn

    def http(self) -> httpx.AsyncClient:
        """An outbound client guarded by the current ``outbound.allow_hosts`` (one per policy)."""
        return self._clients.get()

    async def aclose(self) -> None:
        await self._clients.aclose()
        self.engine.dispose()
