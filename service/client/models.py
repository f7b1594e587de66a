"""The read API's JSON shapes as frozen dataclasses, shared by the sync and async clients.

Parsing is lenient on purpose: keys the client does not know are ignored (a newer server may add
fields) and optional keys may be absent. The answer as received stays available as ``data``,
which is what ``mailhook wait --json`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from service.client import lenient


@dataclass(frozen=True)
class Mailbox:
    """A header address: ``"Widget Co" <no-reply@example.net>`` is ``Mailbox("Widget Co", "no-reply@…")``."""

    name: str | None
    address: str

    @classmethod
    def from_json(cls, data: Any) -> Mailbox | None:
        if not isinstance(data, dict) or not data.get("address"):
            return None
        return cls(name=lenient.text(data.get("name")), address=str(data["address"]))

    def __str__(self) -> str:
        return f'"{self.name}" <{self.address}>' if self.name else self.address


def _mailboxes(value: Any) -> list[Mailbox]:
    found = (Mailbox.from_json(item) for item in value) if isinstance(value, list) else ()
    return [mailbox for mailbox in found if mailbox is not None]


@dataclass(frozen=True)
class Summary:
    """One stored message as listed and waited for: who, what, and the extracted code and links."""

    id: str
    received_at: datetime | None
    source: str | None
    provider: str | None
    envelope_from: str | None
    envelope_to: list[str]
    from_: Mailbox | None
    to: list[Mailbox]
    cc: list[Mailbox]
    recipient: str | None
    subject: str | None
    status: str | None
    code: str | None
    links: list[str]
    data: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def fields_from_json(cls, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": str(data["id"]),
            "received_at": lenient.moment(data.get("received_at")),
            "source": lenient.text(data.get("source")),
            "provider": lenient.text(data.get("provider")),
            "envelope_from": lenient.text(data.get("envelope_from")),
            "envelope_to": lenient.strings(data.get("envelope_to")),
            "from_": Mailbox.from_json(data.get("from")),
            "to": _mailboxes(data.get("to")),
            "cc": _mailboxes(data.get("cc")),
            "recipient": lenient.text(data.get("recipient")),
            "subject": lenient.text(data.get("subject")),
            "status": lenient.text(data.get("status")),
            "code": lenient.text(data.get("code")),
            "links": lenient.strings(data.get("links")),
            "data": data,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        return cls(**cls.fields_from_json(data))


@dataclass(frozen=True)
class AttachmentInfo:
    """Attachment metadata; fetch the bytes with ``client.attachment(message_id, position)``."""

    position: int
    filename: str | None
    content_type: str | None
    size: int | None
    content_id: str | None
    disposition: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AttachmentInfo:
        return cls(
            position=int(data["position"]),
            filename=lenient.text(data.get("filename")),
            content_type=lenient.text(data.get("content_type")),
            size=lenient.number(data.get("size")),
            content_id=lenient.text(data.get("content_id")),
            disposition=lenient.text(data.get("disposition")),
        )


@dataclass(frozen=True)
class StepRun:
    """One pipeline step's outcome within a run."""

    position: int
    name: str
    status: str
    attempts: int
    error: str | None
    output: Any

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepRun:
        return cls(
            position=int(data.get("position", 0)),
            name=str(data.get("name", "")),
            status=str(data.get("status", "")),
            attempts=int(data.get("attempts") or 0),
            error=lenient.text(data.get("error")),
            output=data.get("output"),
        )


@dataclass(frozen=True)
class Run:
    """One pipeline run of a message, with its steps in order."""

    id: int | str
    pipeline: str | None
    route: str | None
    status: str
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    steps: list[StepRun]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Run:
        steps = data.get("steps")
        return cls(
            id=data.get("id", ""),
            pipeline=lenient.text(data.get("pipeline")),
            route=lenient.text(data.get("route")),
            status=str(data.get("status", "")),
            error=lenient.text(data.get("error")),
            started_at=lenient.moment(data.get("started_at")),
            finished_at=lenient.moment(data.get("finished_at")),
            steps=[StepRun.from_json(step) for step in steps] if isinstance(steps, list) else [],
        )


@dataclass(frozen=True)
class MessageDetail(Summary):
    """A message with its bodies, headers, attachment metadata, auth results and pipeline runs."""

    text: str | None = None
    html: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    attachments: list[AttachmentInfo] = field(default_factory=list)
    auth: dict[str, Any] = field(default_factory=dict)
    defects: list[str] = field(default_factory=list)
    bounce: dict[str, Any] | None = None
    runs: list[Run] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MessageDetail:
        headers = data.get("headers") if isinstance(data.get("headers"), list) else []
        attachments = data.get("attachments") if isinstance(data.get("attachments"), list) else []
        runs = data.get("runs") if isinstance(data.get("runs"), list) else []
        return cls(
            **cls.fields_from_json(data),
            text=lenient.text(data.get("text")),
            html=lenient.text(data.get("html")),
            headers=[(str(pair[0]), str(pair[1])) for pair in headers or [] if len(pair) == 2],
            attachments=[AttachmentInfo.from_json(item) for item in attachments or []],
            auth=lenient.mapping(data.get("auth")),
            defects=lenient.strings(data.get("defects")),
            bounce=data.get("bounce") if isinstance(data.get("bounce"), dict) else None,
            runs=[Run.from_json(run) for run in runs or []],
        )


@dataclass(frozen=True)
class WaitResult:
    """A waited-for message and the cursor to pass as ``since`` to wait for the next one."""

    message: Summary
    cursor: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WaitResult:
        return cls(message=Summary.from_json(lenient.mapping(data.get("message"))), cursor=str(data["cursor"]))


@dataclass(frozen=True)
class Address:
    """An address provisioned through a provider's API (``via``) that delivers to this Mailhook."""

    address: str
    via: str
    provider_ref: str | None
    created_at: datetime | None
    data: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Address:
        return cls(
            address=str(data["address"]),
            via=str(data.get("via", "")),
            provider_ref=lenient.text(data.get("provider_ref")),
            created_at=lenient.moment(data.get("created_at")),
            data=data,
        )
