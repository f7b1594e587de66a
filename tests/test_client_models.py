"""The client's models read the contract's shapes, tolerate additions, and refuse what they cannot read."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from service.client import (
    Address,
    Bounce,
    MailhookClient,
    MailhookError,
    MessageDetail,
    Summary,
    Suppression,
    WaitResult,
)

SUMMARY = {
    "id": "01JF3Z",
    "received_at": "2026-12-04T10:00:00+00:00",
    "source": "improvmx",
    "provider": "improvmx",
    "envelope_from": "bounces@example.net",
    "envelope_to": ["signup+a@qa.example.com"],
    "from": {"name": "Widget Co", "address": "no-reply@example.net"},
    "to": [{"name": None, "address": "signup+a@qa.example.com"}, {"name": "x", "address": ""}],
    "cc": [],
    "recipient": "signup+a@qa.example.com",
    "subject": "Confirm",
    "status": "processed",
    "code": "731904",
    "links": ["https://example.net/v"],
    "added_by_a_newer_server": {"ignored": True},
}
DETAIL = SUMMARY | {
    "text": "Enter 731904",
    "html": None,
    "headers": [["Subject", "Confirm"], ["X-Odd"]],
    "attachments": [
        {
            "position": 1,
            "filename": "terms.txt",
            "content_type": "text/plain",
            "size": 27,
            "content_id": None,
            "disposition": "attachment",
        }
    ],
    "auth": {"spf": "pass"},
    "defects": [],
    "bounce": None,
    "runs": [
        {
            "id": 7,
            "pipeline": "qa",
            "route": "qa-signups",
            "status": "succeeded",
            "error": None,
            "started_at": "2026-12-04T10:00:01Z",
            "finished_at": None,
            "steps": [
                {
                    "position": 1,
                    "name": "extract_otp",
                    "status": "succeeded",
                    "attempts": 1,
                    "error": None,
                    "output": {"code": "731904"},
                }
            ],
        }
    ],
}


def test_summary_reads_the_contract_shape_and_ignores_new_keys() -> None:
    summary = Summary.from_json(SUMMARY)
    assert summary.received_at == datetime(2026, 12, 4, 10, tzinfo=UTC)
    assert summary.from_ is not None and summary.from_.name == "Widget Co"
    assert [str(m) for m in summary.to] == ["signup+a@qa.example.com"], "a mailbox without an address is dropped"
    assert (summary.code, summary.links, summary.data) == ("731904", ["https://example.net/v"], SUMMARY)


def test_message_detail_reads_attachments_headers_and_runs() -> None:
    detail = MessageDetail.from_json(DETAIL)
    assert detail.headers == [("Subject", "Confirm")]
    assert (detail.attachments[0].filename, detail.attachments[0].size) == ("terms.txt", 27)
    run = detail.runs[0]
    assert (run.route, run.finished_at, run.steps[0].output) == ("qa-signups", None, {"code": "731904"})
    assert run.started_at == datetime(2026, 12, 4, 10, 0, 1, tzinfo=UTC)
    assert isinstance(detail, Summary) and detail.auth == {"spf": "pass"}


def test_wait_result_and_address() -> None:
    result = WaitResult.from_json({"message": SUMMARY, "cursor": "abc"})
    assert (result.message.id, result.cursor) == ("01JF3Z", "abc")
    address = Address.from_json(
        {"address": "x1@proxiedmail.com", "via": "proxiedmail", "provider_ref": None, "created_at": None}
    )
    assert (address.address, address.provider_ref, address.created_at) == ("x1@proxiedmail.com", None, None)


def test_bounce_and_suppression_read_each_field_by_its_type() -> None:
    bounce = Bounce.from_json(
        {
            "id": 3,
            "recipient": "a@example.org",
            "kind": "hard",
            "reply_code": "550",
            "occurred_at": "2026-12-04T10:00:00Z",
        }
        | {"diagnostic": 550, "added_by_a_newer_server": True}
    )
    assert (bounce.id, bounce.kind, bounce.reply_code, bounce.diagnostic) == (3, "hard", 550, "550")
    assert bounce.occurred_at == datetime(2026, 12, 4, 10, tzinfo=UTC)
    assert (bounce.reason, bounce.created_at, bounce.message_id) == (None, None, None), "absent keys are None"
    entry = Suppression.from_json({"address": "a@example.org", "kind": "manual", "since": "2026-12-04T10:00:00+00:00"})
    assert (entry.address, entry.since, entry.expires_at) == (
        "a@example.org",
        datetime(2026, 12, 4, 10, tzinfo=UTC),
        None,
    )


@pytest.mark.parametrize(
    ("listing", "body"),
    [
        ("messages", {"items": "nope"}),
        ("messages", {"items": [{"subject": "no id"}]}),
        ("messages", {"items": [{"id": "x", "received_at": "yesterday"}]}),
        ("bounces", {"items": [{"kind": "hard"}]}),
        ("bounces", {"items": [{"id": 1, "recipient": "a@x", "kind": "hard", "reply_code": "x"}]}),
        ("suppressions", {"items": [{"address": "a@x", "kind": "manual", "expires_at": "soon"}]}),
    ],
)
def test_a_shape_the_client_cannot_read_is_a_mailhook_error(listing: str, body: dict[str, object]) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    with (
        MailhookClient("http://mailhook.test", "t", transport=transport) as odd,
        pytest.raises(MailhookError, match="unexpected answer"),
    ):
        list(getattr(odd, listing)())


@pytest.mark.parametrize("url", ["localhost:8000", "ftp://mailhook.test", "http://:8000", "http://\x00x"])
def test_a_url_that_is_not_http_is_refused_up_front(url: str) -> None:
    with pytest.raises(MailhookError, match="Mailhook URL"):
        MailhookClient(url)
