"""The ingest group-commit writer on a real SQLite database: a delivery whose rows cannot be
stored fails alone; the deliveries that shared its transaction are stored."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from service.errors import StorageUnavailable
from service.ingest.writer import GroupCommitWriter
from service.mail.inbound import InboundEmail
from service.settings import Settings
from service.store.blobs import BlobStore
from service.store.db import make_engine
from service.store.ids import new_id


def _email(**fields: Any) -> InboundEmail:
    return InboundEmail(provider="improvmx", source="improvmx", idempotency_key=new_id(), raw_payload=b"{}", **fields)


def _ids_into(stored: list[str]) -> Callable[[list[tuple[str, InboundEmail]]], None]:
    return lambda created: stored.extend(message_id for message_id, _ in created)


async def test_a_delivery_that_breaks_the_batch_fails_alone(settings: Settings) -> None:
    engine = make_engine(settings)
    stored: list[str] = []
    writer = GroupCommitWriter(engine, BlobStore(settings.blob_dir), window_s=0.05, on_stored=_ids_into(stored))
    await writer.start()
    try:
        broken = _email(subject=object())  # the driver cannot bind it
        outcomes = await asyncio.gather(
            writer.submit([_email(subject="first")]),
            writer.submit([broken]),
            writer.submit([_email(subject="third")]),
            return_exceptions=True,
        )
    finally:
        await writer.stop()
        engine.dispose()
    first, failed, third = outcomes
    assert isinstance(failed, StorageUnavailable)
    assert isinstance(first, list) and isinstance(third, list)
    assert stored == [first[0].message_id, third[0].message_id]


@pytest.mark.parametrize("count", [1, 3])
async def test_every_delivery_of_a_good_batch_is_stored_once(settings: Settings, count: int) -> None:
    engine = make_engine(settings)
    stored: list[str] = []
    writer = GroupCommitWriter(engine, BlobStore(settings.blob_dir), window_s=0.05, on_stored=_ids_into(stored))
    await writer.start()
    try:
        results = await asyncio.gather(*(writer.submit([_email(subject=str(i))]) for i in range(count)))
    finally:
        await writer.stop()
        engine.dispose()
    assert sorted(stored) == sorted(r[0].message_id for r in results)
