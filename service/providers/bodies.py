"""What each provider POSTs to its hook, for ``/openapi.json``: per media type it sends, the shape
of the body (the fields its module reads; ``required`` lists what its ``parse`` refuses to do
without) and one small example delivery.

These are documents, so they are kept true by tests rather than trusted: every registered
provider has an entry, each example is read by its provider's own ``parse`` into at least one
message or bounce event, and every fixture under ``tests/fixtures/<provider>/`` fits the shape
(``tests/test_hook_bodies.py``). Signatures are not part of the body's shape; where a provider
signs, ``description`` says where the signature travels. Bounce providers are in
``bounce_bodies``.
"""

from __future__ import annotations

import json

from service.providers.bodyschema import (
    JSON,
    MULTIPART,
    URLENCODED,
    BodyDoc,
    array,
    obj,
    sns_envelope,
    sns_example,
    text,
)

_NAMED = obj({"address": text(), "name": text(), "group": array({"type": "object"}, "a named group's members")})
_ADDRESS_LIST = obj({"value": array(_NAMED), "text": text()}, description="mailparser's address object")
_MIME = (
    "From: Acme <no-reply@acme.example>\r\nTo: signup@in.example.net\r\nSubject: Your sign-in code\r\n"
    "Message-ID: <m-1@acme.example>\r\nDate: Tue, 01 Dec 2026 09:00:00 +0000\r\n\r\nYour code is 482913.\r\n"
)
_HEADERS_JSON = json.dumps([["From", "Acme <no-reply@acme.example>"], ["To", "signup@in.example.net"]])

INBOUND_BODIES: dict[str, BodyDoc] = {
    "improvmx": BodyDoc(
        "ImprovMX webhook forward (alias destination is this URL).",
        {
            JSON: (
                obj(
                    {
                        "headers": obj({}, description="header name → value, or list of values"),
                        "from": obj({"email": text(), "name": text()}, ("email",)),
                        "to": array(obj({"email": text(), "name": text()}, ("email",))),
                        "return-path": obj({"email": text(), "name": text()}),
                        "subject": text(),
                        "message-id": text(),
                        "date": text(),
                        "timestamp": {"type": "number", "description": "Unix seconds"},
                        "text": text(),
                        "html": text(),
                        "attachments": array(
                            obj(
                                {"name": text(), "type": text(), "content": text("base64"), "cid": text()}, ("content",)
                            )
                        ),
                        "inlines": array(
                            obj({"name": text(), "type": text(), "content": text("base64")}, ("content",))
                        ),
                    },
                    ("headers", "from"),
                ),
                {
                    "headers": {"Delivered-To": "signup@in.example.net"},
                    "from": {"email": "no-reply@acme.example", "name": "Acme"},
                    "to": [{"email": "signup@in.example.net", "name": None}],
                    "subject": "Your sign-in code",
                    "message-id": "<m-1@acme.example>",
                    "timestamp": 1796115600,
                    "text": "Your code is 482913.",
                },
            )
        },
    ),
    "proxiedmail": BodyDoc(
        "ProxiedMail callback (proxy binding with this URL as callback_url).",
        {
            JSON: (
                obj(
                    {
                        "id": text("the delivery's id (idempotency key)", minLength=1, maxLength=255),
                        "payload": obj(
                            {
                                "recipient": text(),
                                "sender": text(),
                                "From": text(),
                                "To": text(),
                                "Subject": text(),
                                "Date": text(),
                                "Message-Id": text(),
                                "body-plain": text(),
                                "body-html": text(),
                                "stripped-text": text(),
                                "message-headers": text("JSON text: [[name, value], …]"),
                            },
                            description="Mailgun-style message fields",
                        ),
                        "recipient": obj({"address": text()}),
                        "receivedAt": text(),
                    },
                    ("id", "payload"),
                ),
                {
                    "id": "2f0c5b7e-1d9a-4e57-9a39-0f6f0e7b2c11",
                    "payload": {
                        "recipient": "signup@in.example.net",
                        "From": "Acme <no-reply@acme.example>",
                        "Subject": "Your sign-in code",
                        "body-plain": "Your code is 482913.",
                        "message-headers": _HEADERS_JSON,
                    },
                    "recipient": {"address": "signup@in.example.net"},
                },
            )
        },
    ),
    "forwardemail": BodyDoc(
        "Forward Email webhook (mailparser's simpleParser JSON plus raw); signed in X-Webhook-Signature "
        "(HMAC-SHA256 of the body) when the domain has a webhook key.",
        {
            JSON: (
                obj(
                    {
                        "session": obj({"recipient": text(), "sender": text(), "arrivalDate": text()}),
                        "recipients": array(text(), "envelope recipients (else session.recipient)"),
                        "raw": text("the whole message"),
                        "messageId": text(),
                        "date": text(),
                        "subject": text(),
                        "text": text(),
                        "html": {"description": "string, or false"},
                        "from": _ADDRESS_LIST,
                        "to": _ADDRESS_LIST,
                        "cc": _ADDRESS_LIST,
                        "headerLines": array(obj({"key": text(), "line": text()})),
                        "attachments": array(
                            obj(
                                {
                                    "filename": text(),
                                    "contentType": text(),
                                    "content": obj({"type": text(enum=["Buffer"]), "data": array({"type": "integer"})}),
                                    "cid": text(),
                                },
                                ("content",),
                            )
                        ),
                    },
                    ("session",),
                ),
                {"session": {"recipient": "signup@in.example.net", "sender": "no-reply@acme.example"}, "raw": _MIME},
            )
        },
    ),
    "postmark": BodyDoc(
        "Postmark inbound webhook (also what its dashboard's Check button sends: Data for Content).",
        {
            JSON: (
                obj(
                    {
                        "MessageID": text("the delivery's id", minLength=1, maxLength=255),
                        "From": text(),
                        "FromFull": obj({"Email": text(), "Name": text()}),
                        "To": text(),
                        "ToFull": array(obj({"Email": text(), "Name": text()})),
                        "Cc": text(),
                        "Bcc": text(),
                        "OriginalRecipient": text("the RCPT TO that reached the inbound address"),
                        "Subject": text(),
                        "Date": text(),
                        "TextBody": text(),
                        "HtmlBody": text(),
                        "StrippedTextReply": text(),
                        "Headers": array(obj({"Name": text(), "Value": text()})),
                        "Attachments": array(
                            obj(
                                {
                                    "Name": text(),
                                    "Content": text("base64"),
                                    "Data": text("base64"),
                                    "ContentType": text(),
                                }
                            )
                        ),
                        "RawEmail": text("the whole message, when the server includes it"),
                    },
                    ("MessageID",),
                ),
                {
                    "MessageID": "5c1b2e0a-6c55-4bb8-9a0e-3f1d3c0f6a11",
                    "From": "no-reply@acme.example",
                    "OriginalRecipient": "signup@in.example.net",
                    "To": "signup@in.example.net",
                    "Subject": "Your sign-in code",
                    "TextBody": "Your code is 482913.",
                    "Headers": [{"Name": "Message-ID", "Value": "<m-1@acme.example>"}],
                },
            )
        },
    ),
    "raw": BodyDoc(
        "A whole RFC 5322 message as the body (curl, a Postfix pipe). The envelope comes as ?to= (repeated or "
        "comma-separated) and ?from=, or X-Envelope-To/X-Envelope-From headers; else the message's "
        "X-Original-To/Delivered-To and Return-Path.",
        {
            media: (text("the message", format="binary"), _MIME)
            for media in ("message/rfc822", "application/octet-stream", "text/plain")
        },
    ),
    "mailgun": BodyDoc(
        "Mailgun route forward(); signed by timestamp, token and signature (HMAC-SHA256) when signing_keys "
        "are configured. A route URL ending in 'mime' gets the whole message in body-mime.",
        {
            media: (
                obj(
                    {
                        "recipient": text("envelope recipients, comma-separated"),
                        "sender": text(),
                        "from": text(),
                        "subject": text(),
                        "body-plain": text(),
                        "body-html": text(),
                        "stripped-text": text(),
                        "message-headers": text("JSON text: [[name, value], …]"),
                        "content-id-map": text("JSON text: {content-id: attachment-N}"),
                        "body-mime": text("the whole message"),
                        "attachment-count": text(),
                        "timestamp": text(),
                        "token": text(),
                        "signature": text(),
                    },
                    ("recipient",),
                    "one of message-headers, body-mime or from is needed; files attachment-1…n (multipart)",
                ),
                {
                    "recipient": "signup@in.example.net",
                    "sender": "no-reply@acme.example",
                    "from": "Acme <no-reply@acme.example>",
                    "subject": "Your sign-in code",
                    "body-plain": "Your code is 482913.",
                    "message-headers": _HEADERS_JSON,
                },
            )
            for media in (URLENCODED, MULTIPART)
        },
    ),
    "sendgrid": BodyDoc(
        "SendGrid Inbound Parse, parsed mode (headers, text, html, attachments) or raw mode (email).",
        {
            MULTIPART: (
                obj(
                    {
                        "envelope": text('JSON text: {"to": [address, …], "from": address}'),
                        "email": text("raw mode: the whole message"),
                        "headers": text("parsed mode: the header block"),
                        "to": text(),
                        "from": text(),
                        "cc": text(),
                        "subject": text(),
                        "text": text(),
                        "html": text(),
                        "charsets": text("JSON text: {field: charset}"),
                        "attachments": text("how many files attachment1…n"),
                        "attachment-info": text("JSON text: {attachmentN: {filename, type, content-id}}"),
                        "spam_score": text(),
                        "SPF": text(),
                        "dkim": text(),
                    },
                    ("envelope",),
                    "email (raw mode) or headers (parsed mode) is needed",
                ),
                {
                    "envelope": '{"to": ["signup@in.example.net"], "from": "no-reply@acme.example"}',
                    "headers": "From: Acme <no-reply@acme.example>\nSubject: Your sign-in code\n",
                    "text": "Your code is 482913.",
                },
            )
        },
    ),
    "ses-inbound": BodyDoc(
        "Amazon SES receipt rule SNS action (mail up to 150 KB), as an SNS HTTPS subscription delivers it.",
        {
            media: (
                sns_envelope("JSON text: {notificationType: Received, mail, receipt, content (the whole message)}"),
                sns_example(
                    {
                        "notificationType": "Received",
                        "mail": {"messageId": "o3v0c2hrm8s1", "source": "no-reply@acme.example"},
                        "receipt": {"recipients": ["signup@in.example.net"], "action": {"encoding": "UTF8"}},
                        "content": _MIME,
                    }
                ),
            )
            for media in ("text/plain", JSON)
        },
    ),
}
