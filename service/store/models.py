"""Database tables. The index row (``Message``) is separate from its raw payload (``MessageRaw``)
and attachment content lives in the blob store by sha256, as mailpit separates mailbox/data."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, Table, UniqueConstraint, inspect
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def table_of(model: type[SQLModel]) -> Table:
    """The Core ``Table`` behind a table model (its ``__table__``), for Core statements and the fast
    insert paths. SQLModel sets ``__table__`` at class creation but does not declare it, so a type
    checker cannot see it; the mapper's ``local_table`` is the same object, typed."""
    table = inspect(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a single table")
    return table


class MessageStatus(StrEnum):
    pending = "pending"
    processing = "processing"
    processed = "processed"
    failed = "failed"
    #: Routes are configured and none matched: stored, but no pipeline ran.
    unrouted = "unrouted"


class Message(SQLModel, table=True):
    # (status, id) and (source, id), not status or source alone: "newest first with this status
    # (source)" and "oldest pending" are then one index range in id order, never a sort of every
    # row with that status (the web inbox, the read API, the sweeper).
    __table_args__ = (Index("ix_message_status_id", "status", "id"), Index("ix_message_source_id", "source", "id"))

    id: str = Field(primary_key=True, max_length=26)
    source: str = Field(max_length=64)
    provider: str = Field(max_length=32)
    provider_event_id: str | None = Field(default=None, max_length=255)
    idempotency_key: str = Field(unique=True, max_length=128)
    received_at: datetime
    envelope_from: str | None = None
    envelope_to: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    from_name: str | None = None
    from_address: str | None = None
    to: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    cc: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reply_to: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    subject: str | None = None
    message_id: str | None = Field(default=None, index=True)
    date: datetime | None = None
    text: str | None = None
    html: str | None = None
    headers: list[list[str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    auth: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    defects: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    #: What only some providers give (NULL when absent): Bcc addresses, the provider's spam
    #: verdict (``{"flag", "score", ...}``) and the reply without quotes or signature.
    bcc: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))
    spam: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))
    stripped_text: str | None = None
    raw_mime_sha256: str | None = Field(default=None, max_length=64)
    raw_mime_size: int | None = None
    #: When the worker filled text/html/attachments from raw MIME (raw and SMTP sources).
    parsed_at: datetime | None = None
    #: Set when the worker read this mail as a bounce or complaint (``workers.bouncemail``):
    #: ``BounceReport.as_dict()`` plus ``reporting_mta`` and ``original_message_id``; null otherwise.
    bounce: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))
    status: str = Field(default=MessageStatus.pending, max_length=16)
    error: str | None = None
    attempts: int = 0
    updated_at: datetime = Field(default_factory=utcnow)
    #: Set once by ``GET /api/v1/wait?claim=true``: the caller that set it owns the message.
    claimed_at: datetime | None = None


class MessageRaw(SQLModel, table=True):
    """The delivery body exactly as received (provider secrets stripped), for audit and re-parsing."""

    message_id: str = Field(primary_key=True, foreign_key="message.id", max_length=26)
    content_type: str = Field(max_length=255)
    #: "identity" or "zlib": provider JSON and forms compress 3-5×, which halves what each
    #: delivery writes to the database.
    encoding: str = Field(default="identity", max_length=16)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))

    def content(self) -> bytes:
        """The body exactly as received (secrets stripped), whatever the stored encoding."""
        return zlib.decompress(self.payload) if self.encoding == "zlib" else self.payload


class Attachment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(foreign_key="message.id", index=True, max_length=26)
    position: int
    filename: str | None = None
    content_type: str = Field(max_length=255)
    size: int
    sha256: str = Field(max_length=64, index=True)
    content_id: str | None = None
    disposition: str = Field(default="attachment", max_length=32)


class PipelineRun(SQLModel, table=True):
    """One run of one pipeline over one message; replays add a new run."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(foreign_key="message.id", index=True, max_length=26)
    pipeline: str = Field(max_length=128)
    route: str | None = Field(default=None, max_length=128)
    status: str = Field(default="running", index=True, max_length=16)
    error: str | None = None
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class StepRun(SQLModel, table=True):
    """A step's outcome inside a pipeline run; a ``succeeded`` row is never executed again."""

    __table_args__ = (UniqueConstraint("pipeline_run_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    pipeline_run_id: int = Field(foreign_key="pipelinerun.id", index=True)
    position: int
    name: str = Field(max_length=64)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    duration_ms: float | None = None
    error: str | None = None
    output: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    updated_at: datetime = Field(default_factory=utcnow)
