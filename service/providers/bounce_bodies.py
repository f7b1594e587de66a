"""What each bounce-webhook provider POSTs to its hook (``bodies`` holds the inbound providers and
says how these documents are kept true). Events that are not failures (deliveries, opens) have
the same shape and are acknowledged without being stored."""

from __future__ import annotations

from service.providers.bodyschema import JSON, BodyDoc, array, obj, sns_envelope, sns_example, text

_INT = {"type": "integer"}

BOUNCE_BODIES: dict[str, BodyDoc] = {
    "ses": BodyDoc(
        "Amazon SES bounce, complaint and delivery-delay notifications (identity notifications or event "
        "publishing) through an SNS HTTPS subscription with raw message delivery off.",
        {
            media: (
                sns_envelope(
                    "JSON text: {notificationType or eventType: Bounce|Complaint|DeliveryDelay, "
                    "bounce|complaint|deliveryDelay, mail}"
                ),
                sns_example(
                    {
                        "notificationType": "Bounce",
                        "bounce": {
                            "bounceType": "Permanent",
                            "bounceSubType": "General",
                            "bouncedRecipients": [
                                {"emailAddress": "nobody@example.org", "status": "5.1.1", "action": "failed"}
                            ],
                            "timestamp": "2026-12-01T09:00:00.000Z",
                            "feedbackId": "0102017f-example-000000",
                        },
                        "mail": {"messageId": "0102017f-mail-000000", "source": "hello@example.com"},
                    }
                ),
            )
            for media in ("text/plain", JSON)
        },
    ),
    "postmark-bounces": BodyDoc(
        "Postmark Bounce and SpamComplaint webhooks.",
        {
            JSON: (
                obj(
                    {
                        "RecordType": text(enum=["Bounce", "SpamComplaint"]),
                        "ID": {"description": "the event's id (integer or string)"},
                        "Email": text("the bounced address"),
                        "Type": text("HardBounce, SoftBounce, Transient, SpamComplaint, …"),
                        "TypeCode": _INT,
                        "Details": text(),
                        "Description": text(),
                        "BouncedAt": text(format="date-time"),
                        "MessageID": text("Postmark's id of the bounced message"),
                    },
                    ("RecordType", "ID", "Email"),
                ),
                {
                    "RecordType": "Bounce",
                    "ID": 4323372036,
                    "Type": "HardBounce",
                    "TypeCode": 1,
                    "Email": "nobody@example.org",
                    "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
                    "BouncedAt": "2026-12-01T09:00:00Z",
                },
            )
        },
    ),
    "mailgun-events": BodyDoc(
        "Mailgun failed (severity permanent → bounce, temporary → delayed) and complained webhooks; "
        "signature {timestamp, token, signature} checked when signing_keys are configured.",
        {
            JSON: (
                obj(
                    {
                        "signature": obj({"timestamp": text(), "token": text(), "signature": text()}),
                        "event-data": obj(
                            {
                                "event": text("failed and complained are recorded"),
                                "recipient": text(),
                                "severity": text(enum=["permanent", "temporary"]),
                                "reason": text(),
                                "delivery-status": obj({"code": _INT, "message": text(), "description": text()}),
                                "id": text(),
                                "timestamp": {"type": "number"},
                                "message": obj({"headers": obj({"message-id": text()})}),
                            },
                            ("event",),
                            "recipient is required for failed and complained",
                        ),
                    },
                    ("event-data",),
                ),
                {
                    "event-data": {
                        "event": "failed",
                        "severity": "permanent",
                        "recipient": "nobody@example.org",
                        "reason": "bounce",
                        "delivery-status": {"code": 550, "message": "5.1.1 The email account does not exist"},
                        "id": "G9Bn5sl1TC6nu79C8C0bwg",
                        "timestamp": 1796115600.5,
                    }
                },
            )
        },
    ),
    "sendgrid-events": BodyDoc(
        "SendGrid Event Webhook: a batch of events (bounce, dropped, deferred and spamreport are recorded); "
        "ECDSA signature in X-Twilio-Email-Event-Webhook-Signature/-Timestamp when a key is configured.",
        {
            JSON: (
                array(
                    obj(
                        {
                            "event": text(),
                            "email": text(),
                            "timestamp": _INT,
                            "sg_event_id": text(),
                            "type": text("bounce or blocked (bounce events)"),
                            "reason": text(),
                            "status": text(),
                            "response": text(),
                        },
                        ("event", "email"),
                    )
                ),
                [
                    {
                        "event": "bounce",
                        "type": "bounce",
                        "email": "nobody@example.org",
                        "timestamp": 1796115600,
                        "status": "5.1.1",
                        "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
                        "sg_event_id": "ZGVsaXZlcmVkLTAtMjQ0",
                    }
                ],
            )
        },
    ),
    "forwardemail-bounces": BodyDoc(
        "Forward Email bounce webhook; always signed in X-Webhook-Signature (HMAC-SHA256 of the body).",
        {
            JSON: (
                obj(
                    {
                        "recipient": text("the bounced address"),
                        "email_id": text(),
                        "bounced_at": text(format="date-time"),
                        "response": text(),
                        "response_code": _INT,
                        "message": text(),
                        "bounce": obj(
                            {
                                "action": text(),
                                "category": text(),
                                "code": _INT,
                                "status": text(),
                                "message": text(),
                            }
                        ),
                        "headers": obj({}, description="headers of the bounced message"),
                    },
                    ("recipient",),
                ),
                {
                    "email_id": "6742f0a1b2c3d4e5f6a7b8c9",
                    "recipient": "nobody@example.org",
                    "response": "550 5.1.1 The email account that you tried to reach does not exist.",
                    "response_code": 550,
                    "bounce": {"action": "reject", "category": "recipient", "status": "5.1.1"},
                    "bounced_at": "2026-12-01T09:00:00.000Z",
                },
            )
        },
    ),
}
