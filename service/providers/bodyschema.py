"""Helpers for describing what a provider POSTs to its hook (``bodies``, ``bounce_bodies``):
``BodyDoc`` and small JSON Schema builders in OpenAPI 3.0's dialect, plus the SNS envelope that
both SES providers receive."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

JSON = "application/json"
URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


@dataclass(frozen=True, slots=True)
class BodyDoc:
    """One provider's request body: ``content`` maps a media type to (schema, example)."""

    description: str
    content: dict[str, tuple[dict[str, Any], Any]] = field(default_factory=dict)


def text(description: str = "", **more: Any) -> dict[str, Any]:
    return {"type": "string", **({"description": description} if description else {}), **more}


def obj(properties: dict[str, Any], required: tuple[str, ...] = (), description: str = "") -> dict[str, Any]:
    """A JSON object (more properties allowed: providers add fields over time). Optional
    properties may be null: providers send ``null`` for what a message lacks."""
    shown = {key: value if key in required else {**value, "nullable": True} for key, value in properties.items()}
    schema: dict[str, Any] = {"type": "object", "properties": shown}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def array(items: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"type": "array", "items": items, **({"description": description} if description else {})}


def sns_envelope(message: str) -> dict[str, Any]:
    """Amazon SNS's HTTP(S) delivery (posted as ``text/plain``, read as JSON either way)."""
    return obj(
        {
            "Type": text(enum=["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"]),
            "MessageId": text(),
            "TopicArn": text("must be one of the source's topic_arns"),
            "Message": text(message),
            "Timestamp": text(format="date-time"),
            "SignatureVersion": text("1 (SHA1) or 2 (SHA256)", enum=["1", "2"]),
            "Signature": text("base64; verified with the certificate at SigningCertURL"),
            "SigningCertURL": text("https://sns.<region>.amazonaws.com/… only"),
            "SubscribeURL": text("SubscriptionConfirmation only"),
            "Token": text("SubscriptionConfirmation only"),
            "Subject": text(),
            "UnsubscribeURL": text(),
        },
        ("Type", "MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion", "Signature", "SigningCertURL"),
        "Headers x-amz-sns-message-type, -message-id and -topic-arn must agree with the body.",
    )


def sns_example(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": "arn:aws:sns:eu-west-1:111122223333:ses-mail",
        "Message": json.dumps(message),
        "Timestamp": "2026-12-01T09:00:00.000Z",
        "SignatureVersion": "2",
        "Signature": "EXAMPLEpH+...",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000.pem",
    }
