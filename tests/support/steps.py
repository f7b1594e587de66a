"""Running steps directly: real ``WorkerDeps`` over the per-test database, and stored messages.

Messages go through ``store_batch`` like ingest stores them, so steps read real rows, real
attachment rows and real raw-MIME blobs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from service.config import ConfigHolder
from service.mail.inbound import Address, InboundAttachment, InboundEmail
from service.settings import Settings
from service.store.blobs import BlobStore
from service.store.db import make_engine
from service.store.ids import new_id
from service.store.messages import store_batch
from service.store.models import Message
from service.store.runs import load_job
from workers.deps import WorkerDeps
from workers.pipeline.definition import Pipeline
from workers.pipeline.engine import JobRun, RunOutcome, run_pipeline
from workers.steps.base import StepContext

MIME_FIXTURES = Path(__file__).parent.parent / "fixtures" / "mime"

OTP_TEXT = """Hi Ada,

Your Acme sign-in code is 048213.

Or confirm with this link: https://acme.example/verify?token=k7Qm2Zx9Lp3Vn8Rt5Wy1

Unsubscribe: https://acme.example/unsubscribe?u=1
"""
OTP_HTML = (
    "<p>Your Acme sign-in code is <b>048213</b>.</p>"
    '<p><a href="https://acme.example/verify?token=k7Qm2Zx9Lp3Vn8Rt5Wy1">Confirm your email</a></p>'
    '<p><a href="https://acme.example/unsubscribe?u=1">Unsubscribe</a></p>'
)


def mime_fixture(name: str) -> bytes:
    return (MIME_FIXTURES / name).read_bytes()


@asynccontextmanager
async def worker_deps(settings: Settings) -> AsyncIterator[WorkerDeps]:
    """Built like ``workers.main`` builds them at start-up (the config file must exist already)."""
    deps = WorkerDeps(
        settings=settings,
        engine=make_engine(settings),
        blobs=BlobStore(settings.blob_dir),
        config=ConfigHolder.load(settings.config),
    )
    try:
        yield deps
    finally:
        await deps.aclose()


def store_email(deps: WorkerDeps, **fields: Any) -> Message:
    """Store an OTP mail (override any ``InboundEmail`` field) and return its row."""
    values: dict[str, Any] = {
        "provider": "improvmx",
        "source": "improvmx",
        "idempotency_key": new_id(),
        "raw_payload": b"{}",
        "received_at": datetime(2024, 5, 1, 9, 30, tzinfo=UTC),
        "envelope_from": "bounce@acme.example",
        "envelope_to": ["ada@inbox.example"],
        "header_from": Address("Acme Accounts", "accounts@acme.example"),
        "to": [Address("Ada", "ada@inbox.example")],
        "subject": "Your Acme sign-in code",
        "message_id": "<otp-1@acme.example>",
        "date": datetime(2024, 5, 1, 9, 29, tzinfo=UTC),
        "text": OTP_TEXT,
        "html": OTP_HTML,
        "headers": [("X-Mailer", "acme")],
    }
    values.update(fields)
    [result] = store_batch(deps.engine, deps.blobs, [InboundEmail(**values)])
    with Session(deps.engine) as session:
        message = session.get(Message, result.message_id)
        assert message is not None
        session.expunge(message)
        return message


def store_mime(deps: WorkerDeps, raw: bytes, **fields: Any) -> Message:
    """A raw/SMTP-style delivery: the bytes are in the blob store, body fields left empty."""
    defaults: dict[str, Any] = {"provider": "smtp", "source": "smtp", "text": None, "html": None, "headers": []}
    return store_email(deps, raw_mime=raw, raw_content_type="message/rfc822", **{**defaults, **fields})


def pdf_attachment() -> InboundAttachment:
    return InboundAttachment("invoice.pdf", "application/pdf", b"%PDF-1.4 tiny\n")


def step_context(deps: WorkerDeps, message: Message, outputs: dict[str, Any] | None = None) -> StepContext:
    return StepContext(message=message, deps=deps, outputs=dict(outputs or {}))


async def run_pipeline_job(
    deps: WorkerDeps, message: Message, pipeline: Pipeline, route: str | None = None
) -> RunOutcome:
    """Run one pipeline as a job attempt does: load the message and its earlier runs from the
    database (so a second call resumes like a retried job), then run it."""
    loaded = await deps.txn.run(lambda conn: load_job(conn, message.id))
    assert loaded is not None
    job = JobRun(deps, loaded.message, loaded.attachments, loaded.runs, pending=[])
    return await run_pipeline(job, pipeline, route)
