"""Putting every corpus message through both ingest paths (raw HTTP and SMTP), then the worker.

Used by ``test_ingest_corpus.py``: one module-scoped run does all the I/O, and the tests only
look at the :class:`IngestRun` it leaves behind, so a failure names every bad file at once.

Decisions (printed in the summary as well):

* **What is a message.** Every file under ``mime/`` and ``bounces/`` except licences, READMEs,
  ``SOURCE.txt``/``NOTICE.txt``, JSON answer keys, docs, code and dotfiles. Extension does not
  matter: ``.eml``, ``.msg`` (rjbs' text messages *and* the binary Outlook ``mail_outlook_1``),
  ``.txt`` and extension-less fixtures are all posted as they are. Empty or one-line files
  (``sisimai/mailbox/size-*``, ruby-mail's empty ``sample_output_multipart``) are kept: they are
  hostile input too, and the raw provider is allowed to answer 400 when there is no header block.
* **mbox files** (``sisimai/mailbox/mbox-*``) are split at their ``From `` separator lines; the
  separator is mbox framing, not part of the message, and is not sent. The bytes between two
  separators are sent unchanged (no ``>From`` unquoting), so ``mbox-0`` becomes 37 messages.
* **Envelope.** Each message gets its own recipient, ``corpus+h<n>@example.com`` over HTTP and
  ``corpus+s<n>@example.com`` over SMTP. The corpus has CRLF/CR twins of the same message
  (``maildir/bsd|dos|mac``: same Message-ID and Date, different bytes); with one shared
  recipient the twins would be de-duplicated to the first one stored, which is correct
  behaviour but would hide the twins' own bytes from the byte-for-byte check.
* **SMTP transport.** SMTP carries lines ending in CRLF, so a client must turn bare CR and
  bare LF into CRLF and end the data with CRLF (aiosmtplib does exactly this, and dot-stuffs,
  which the server undoes). What the server stores is compared with what it *received*
  (captured from ``IngestHandler.handle_DATA``), and what it received is compared with
  :func:`smtp_wire_form` of the file, so a mismatch says which side changed the bytes.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx
from arq.connections import RedisSettings, create_pool
from arq.jobs import Job
from sqlmodel import Session, select

from service.settings import Settings
from service.store.blobs import BlobStore
from service.store.db import make_engine
from service.store.models import Attachment, Message, PipelineRun, StepRun

RAW_SECRET = "raw-corpus-secret-0123456789abcdef"
DOMAIN = "example.com"
SENDER = "corpus-sender@example.net"
CONCURRENCY = 8
#: Per-request bound for HTTP and SMTP: a hang shows as a named timeout, not a stuck suite.
REQUEST_TIMEOUT_S = 60.0

CONFIG_YAML = f"""
sources:
  - {{name: raw, provider: raw, secrets: ["{RAW_SECRET}"]}}
smtp:
  domains: [{DOMAIN}]
  max_message_bytes: 30000000
  hostname: mx.corpus.test
outbound:
  allow_hosts: ["127.0.0.1"]
"""

_NON_MESSAGE_NAMES = ("license", "mit-license", "readme", "notice", "source", "copying")
_NON_MESSAGE_SUFFIXES = {".json": "answer key (.json)", ".md": "docs", ".rdoc": "docs", ".rb": "code", ".py": "code"}
_MBOX_SEPARATOR = re.compile(rb"(?:\A|(?<=\n\n)|(?<=\n\r\n))From [^\r\n]*\r?\n")
_LINE_ENDING = re.compile(rb"\r\n|\n|\r")
#: A header field's start, RFC 5322 obs-syntax included (white space before the colon).
_HEADER_START = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")


@dataclass(frozen=True)
class CorpusMessage:
    """One message to deliver: ``name`` is its corpus path (``#n`` for the n-th of an mbox)."""

    name: str
    data: bytes


@dataclass
class Corpus:
    messages: list[CorpusMessage]
    skipped: dict[str, list[str]]
    mbox_files: dict[str, int]


def non_message_reason(path: Path) -> str | None:
    """Why a file is not a message (licence, docs, answer key, code), or ``None`` if it is one."""
    name = path.name.lower()
    if name.startswith("."):
        return "dotfile"
    if name.split(".")[0] in _NON_MESSAGE_NAMES:
        return "licence/readme/provenance"
    return _NON_MESSAGE_SUFFIXES.get(path.suffix.lower())


def split_mbox(data: bytes) -> list[bytes]:
    """The messages of an mbox, without their ``From `` separator lines; ``[]`` if it is not one."""
    separators = list(_MBOX_SEPARATOR.finditer(data))
    ends = [s.start() for s in separators[1:]] + [len(data)] if separators else []
    return [data[s.end() : end] for s, end in zip(separators, ends, strict=True)]


def collect(corpora_dir: Path, folders: Iterable[str] = ("mime", "bounces")) -> Corpus:
    corpus = Corpus(messages=[], skipped={}, mbox_files={})
    for folder in folders:
        for path in sorted((corpora_dir / folder).rglob("*")):
            if not path.is_file():
                continue
            name = str(path.relative_to(corpora_dir))
            reason = non_message_reason(path)
            if reason:
                corpus.skipped.setdefault(reason, []).append(name)
                continue
            data = path.read_bytes()
            parts = split_mbox(data) if path.parent.name == "mailbox" else []
            if len(parts) > 0:
                corpus.mbox_files[name] = len(parts)
                corpus.messages += [CorpusMessage(f"{name}#{i}", part) for i, part in enumerate(parts, 1)]
            else:
                corpus.messages.append(CorpusMessage(name, data))
    return corpus


def has_header_block(data: bytes) -> bool:
    """Whether ``data`` starts with a header field (after an optional mbox ``From `` line).

    Independent of the product's parser: the raw provider may refuse exactly the files for
    which this is false."""
    first, _, rest = data.partition(b"\n")
    if _HEADER_START.match(first):
        return True
    return first.startswith(b"From ") and bool(_HEADER_START.match(rest))


def has_visible_body(data: bytes) -> bool:
    """Whether any leaf part of ``data`` decodes to something other than white space (stdlib)."""
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and payload.strip():
            return True
    return False


def smtp_wire_form(data: bytes) -> bytes:
    """The bytes an SMTP server receives for ``data``: every line ending CRLF, ending in CRLF."""
    wire = _LINE_ENDING.sub(b"\r\n", data)
    return wire if wire.endswith(b"\r\n") else wire + b"\r\n"


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Delivery:
    """What one path answered for one message."""

    message: CorpusMessage
    path: str  # "http" | "smtp"
    status: int | None = None  # HTTP status or SMTP reply code
    answer: str = ""
    message_id: str | None = None
    duplicate: bool = False
    seconds: float = 0.0
    received: bytes | None = None  # SMTP only: DATA as the server got it

    @property
    def expected_bytes(self) -> bytes:
        return self.message.data if self.path == "http" else smtp_wire_form(self.message.data)


@dataclass
class Stored:
    """The message row, its stored raw bytes and its worker timings."""

    row: Message
    blob: bytes | None
    job_seconds: float | None = None
    job_success: bool | None = None
    attachments: int = 0
    steps: dict[str, float] = field(default_factory=dict)  # step name -> duration_ms
    step_errors: list[str] = field(default_factory=list)


@dataclass
class IngestRun:
    corpus: Corpus
    deliveries: list[Delivery] = field(default_factory=list)
    stored: dict[str, Stored] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    worker_error: str | None = None
    worker_counts: dict[str, int] = field(default_factory=dict)

    def by_path(self, path: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.path == path]

    def stored_of(self, delivery: Delivery) -> Stored:
        """The stored message a delivery was answered with (KeyError if there is none)."""
        return self.stored[delivery.message_id or ""]


async def _bounded(items: list[Any], work: Callable[[Any], Awaitable[None]], limit: int = CONCURRENCY) -> None:
    semaphore = asyncio.Semaphore(limit)

    async def one(item: Any) -> None:
        async with semaphore:
            await work(item)

    await asyncio.gather(*(one(item) for item in items))


async def post_raw(base_url: str, deliveries: list[Delivery]) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as client:

        async def post(item: tuple[int, Delivery]) -> None:
            index, delivery = item
            params: list[tuple[str, str | int | float | bool | None]] = [
                ("from", SENDER),
                ("to", f"corpus+h{index}@{DOMAIN}"),
            ]
            headers = {"content-type": "message/rfc822"}
            started = time.perf_counter()
            try:
                response = await client.post(
                    f"/hooks/raw/{RAW_SECRET}", content=delivery.message.data, headers=headers, params=params
                )
            except httpx.HTTPError as exc:
                delivery.answer = f"{type(exc).__name__}: {exc}"
                return
            finally:
                delivery.seconds = time.perf_counter() - started
            delivery.status, delivery.answer = response.status_code, response.text[:500]
            if response.status_code == 200:
                [first] = response.json()["messages"]
                delivery.message_id, delivery.duplicate = first["id"], bool(first.get("duplicate"))

        await _bounded(list(enumerate(deliveries)), post)


async def send_smtp(port: int, deliveries: list[Delivery], received: dict[str, bytes]) -> None:
    """One aiosmtplib transaction per message; ``received`` is filled by the handler capture."""

    async def send(item: tuple[int, Delivery]) -> None:
        index, delivery = item
        rcpt = f"corpus+s{index}@{DOMAIN}"
        started = time.perf_counter()
        try:
            errors, reply = await aiosmtplib.send(
                delivery.message.data,
                sender=SENDER,
                recipients=[rcpt],
                hostname="127.0.0.1",
                port=port,
                timeout=REQUEST_TIMEOUT_S,
            )
            delivery.status, delivery.answer = (250, reply) if not errors else (550, str(errors))
        except aiosmtplib.SMTPResponseException as exc:
            delivery.status, delivery.answer = exc.code, exc.message
        except (aiosmtplib.SMTPException, OSError) as exc:
            delivery.answer = f"{type(exc).__name__}: {exc}"
        finally:
            delivery.seconds = time.perf_counter() - started
        delivery.received = received.get(rcpt)
        if delivery.status == 250 and " stored as " in delivery.answer:
            delivery.message_id = delivery.answer.rsplit(" ", 1)[-1]

    await _bounded(list(enumerate(deliveries)), send)


async def job_seconds(settings: Settings, message_ids: list[str]) -> dict[str, tuple[float, bool]]:
    """Wall time of each message's ``process_message`` job (hydrate + pipeline), from arq's results."""
    redis = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    try:
        found: dict[str, tuple[float, bool]] = {}
        for message_id in message_ids:
            info = await Job(message_id, redis, _queue_name=settings.queue_name).result_info()
            if info is not None:
                found[message_id] = ((info.finish_time - info.start_time).total_seconds(), info.success)
        return found
    finally:
        await redis.aclose()


def load_stored(settings: Settings, message_ids: Iterable[str]) -> dict[str, Stored]:
    blobs = BlobStore(settings.blob_dir)
    wanted = set(message_ids)
    engine = make_engine(settings)
    try:
        with Session(engine) as session:
            rows = {m.id: m for m in session.exec(select(Message)) if m.id in wanted}
            steps = session.exec(select(PipelineRun.message_id, StepRun).join(StepRun)).all()
            attachments = Counter(session.exec(select(Attachment.message_id)).all())
            session.expunge_all()
    finally:
        engine.dispose()
    stored = {}
    for message_id, row in rows.items():
        blob = blobs.read(row.raw_mime_sha256) if row.raw_mime_sha256 and blobs.exists(row.raw_mime_sha256) else None
        stored[message_id] = Stored(row=row, blob=blob, attachments=attachments[message_id])
    for message_id, step in steps:
        if message_id in stored:
            stored[message_id].steps[step.name] = step.duration_ms or 0.0
            if step.error:
                stored[message_id].step_errors.append(f"{step.name}: {step.error}")
    return stored


# --- reporting --------------------------------------------------------------------------------


def defect_kind(defect: str) -> str:
    """``parser_error: ValueError: ...`` -> ``parser_error: ValueError``; names stay as they are."""
    return ": ".join(defect.split(": ")[:2]) if defect.startswith("parser_error") else defect.split(":")[0]


def summary(run: IngestRun) -> str:
    corpus = run.corpus
    lines = [
        "",
        "Ingest corpus (raw HTTP + SMTP -> worker parse + extract_otp)",
        f"  messages: {len(corpus.messages)} from corpora/mime and corpora/bounces"
        f" ({len(corpus.mbox_files)} mbox files split: "
        + ", ".join(f"{Path(n).name}={c}" for n, c in corpus.mbox_files.items())
        + ")",
        f"  skipped {sum(map(len, corpus.skipped.values()))} non-message files:",
    ]
    for reason, names in sorted(corpus.skipped.items()):
        lines.append(f"    {reason} x{len(names)}: " + ", ".join(names))
    for path in ("http", "smtp"):
        deliveries = run.by_path(path)
        codes = Counter(str(d.status) for d in deliveries)
        stored = sum(1 for d in deliveries if d.message_id in run.stored)
        lines.append(
            f"  {path}: answers {dict(sorted(codes.items()))}, stored {stored}/{len(deliveries)},"
            f" {run.phases.get(path, 0):.1f} s"
        )
        for d in deliveries:
            if d.status != 250 and d.status != 200:
                lines.append(f"    {d.status} {d.message.name} ({len(d.message.data)} B): {d.answer[:120]}")
        changed = [d.message.name for d in deliveries if d.path == "smtp" and d.expected_bytes != d.message.data]
        if changed:
            lines.append(
                f"    {len(changed)} files are not in SMTP wire form (bare CR/LF or no final CRLF);"
                " compared with their wire form"
            )
    rows = list(run.stored.values())
    statuses = Counter(s.row.status for s in rows)
    kinds = Counter(defect_kind(defect) for s in rows for defect in dict.fromkeys(s.row.defects))
    with_defects = sum(1 for s in rows if s.row.defects)
    lines.append(f"  worker: {run.phases.get('worker', 0):.1f} s, jobs {run.worker_counts}, statuses {dict(statuses)}")
    if run.worker_error:
        lines.append(f"    worker error: {run.worker_error}")
    lines.append(f"  defects: {with_defects}/{len(rows)} messages have some; top kinds:")
    lines += [f"    {count:>5}  {kind}" for kind, count in kinds.most_common(10)]
    labels = {d.message_id: f"{d.path}:{d.message.name}" for d in run.deliveries if d.message_id}
    timed = sorted((s for s in rows if s.job_seconds is not None), key=lambda s: -(s.job_seconds or 0))
    lines.append("  slowest jobs (hydrate + pipeline wall time):")
    for s in timed[:5]:
        steps = ", ".join(f"{name} {ms:.0f} ms" for name, ms in s.steps.items())
        size = s.row.raw_mime_size or 0
        lines.append(f"    {s.job_seconds:6.2f} s  {labels.get(s.row.id, s.row.id)} ({size} B; {steps})")
    lines.append(f"  total {run.phases.get('total', 0):.1f} s")
    return "\n".join(lines)
