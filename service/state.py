"""What the web app holds for its lifetime (lifespan state), built from settings at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy import Engine

from service.blobs import BlobStore
from service.config import ConfigHolder
from service.queue import BatchingEnqueuer
from service.settings import Settings
from service.writer import GroupCommitWriter


@dataclass
class AppState:
    settings: Settings
    config: ConfigHolder
    engine: Engine
    blobs: BlobStore
    redis: Redis
    writer: GroupCommitWriter
    enqueuer: BatchingEnqueuer
