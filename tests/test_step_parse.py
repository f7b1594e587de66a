"""``parse``: bodies, attachments, defects and reply text from raw MIME or stored fields."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from service.settings import Settings
from service.store.models import Message, utcnow
from tests.support.steps import mime_fixture, pdf_attachment, step_context, store_email, store_mime, worker_deps
from workers.deps import WorkerDeps
from workers.extract.reply_text import reply_text
from workers.steps.parse import Parse, ParseParams


@pytest.fixture
async def deps(settings: Settings, write_config: Callable[..., Path]) -> AsyncIterator[WorkerDeps]:
    write_config()
    async with worker_deps(settings) as built:
        yield built


async def _parse(deps: WorkerDeps, raw: bytes, **params: Any) -> dict[str, Any]:
    message = store_mime(deps, raw)
    output = await Parse(ParseParams(**params)).run(step_context(deps, message))
    assert output is not None
    return output


async def test_parse_raw_mime_gives_bodies_and_attachment_metadata(deps: WorkerDeps) -> None:
    output = await _parse(deps, mime_fixture("reply.eml"))
    assert output["subject"] == "Re: Your ticket #4411"
    assert output["text"].startswith("Thanks, that fixed it. The résumé is attached.")
    assert '<div dir="ltr">' in output["html"]
    assert output["attachments"] == [
        {
            "filename": None,
            "content_type": "image/png",
            "size": 48,
            "disposition": "inline",
            "content_id": "logo@inbox.example",
        },
        {
            "filename": "Résumé.pdf",
            "content_type": "application/pdf",
            "size": 100,
            "disposition": "attachment",
            "content_id": None,
        },
    ]
    assert output["defects"] == []


async def test_parse_reply_text_drops_wrapped_attribution_and_quotes(deps: WorkerDeps) -> None:
    output = await _parse(deps, mime_fixture("reply.eml"))
    assert output["reply_text"] == "Thanks, that fixed it. The résumé is attached.\n\nAda"


async def test_parse_forward_reply_text_is_the_note_before_the_marker(deps: WorkerDeps) -> None:
    output = await _parse(deps, mime_fixture("forward.eml"))
    assert output["subject"] == "Fwd: Your Acme sign-in code – action needed"
    assert "048213" in output["text"]
    assert output["reply_text"] == "Can someone on call use this?"


async def test_parse_attached_message_is_an_attachment_not_body(deps: WorkerDeps) -> None:
    output = await _parse(deps, mime_fixture("dsn.eml"))
    assert "user unknown" in output["text"]
    assert "048213" not in output["text"], "a bounced original must not leak its code into the body"
    assert [a["content_type"] for a in output["attachments"]] == ["message/delivery-status", "message/rfc822"]


async def test_parse_mislabelled_charset_is_decoded_and_recorded(deps: WorkerDeps) -> None:
    output = await _parse(deps, mime_fixture("mislabelled_charset.eml"))
    assert output["text"] == "Votre commande a été expédiée – merci !\n"
    assert "CharsetDecodeDefect" in output["defects"]


async def test_parse_broken_boundary_keeps_text_and_records_defect(deps: WorkerDeps) -> None:
    output = await _parse(deps, mime_fixture("broken_boundary.eml"))
    assert "Disk /var is 97% full" in output["text"]
    assert "StartBoundaryNotFoundDefect" in output["defects"]


async def test_parse_hostile_nesting_becomes_a_defect_not_a_crash(deps: WorkerDeps) -> None:
    depth = 3000
    head = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(depth))
    raw = f"From: x@example.org\nSubject: deep\nMIME-Version: 1.0\n{head}Content-Type: text/plain\n\nhi\n".encode()
    message = store_mime(deps, raw, text="stored text")
    output = await Parse().run(step_context(deps, message))
    assert output is not None
    assert any(d.startswith("parser_error: RecursionError") or d == "NestingTooDeep" for d in output["defects"])
    assert output["text"] in ("stored text", "hi\n")


async def test_parse_timeout_falls_back_to_stored_fields(deps: WorkerDeps) -> None:
    parts = "".join(f"--b\nContent-Type: text/plain\n\n{'line of text ' * 40}\n" for i in range(4000))
    raw = f'Subject: big\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n{parts}--b--\n'.encode()
    message = store_mime(deps, raw, text="stored text", subject="stored subject")
    output = await Parse(ParseParams(timeout=0.000001)).run(step_context(deps, message))
    assert output is not None
    assert output["text"] == "stored text" and output["subject"] == "stored subject"
    assert any(d.startswith("parse_timeout") for d in output["defects"])


async def test_parse_provider_json_uses_stored_fields_and_attachment_rows(deps: WorkerDeps) -> None:
    message = store_email(deps, attachments=[pdf_attachment()], defects=["provider_quirk"])
    output = await Parse().run(step_context(deps, message))
    assert output is not None
    assert output["text"] == message.text and output["html"] == message.html
    assert output["defects"] == ["provider_quirk"]
    assert output["attachments"] == [
        {
            "filename": "invoice.pdf",
            "content_type": "application/pdf",
            "size": 14,
            "disposition": "attachment",
            "content_id": None,
        }
    ]
    assert output["reply_text"].startswith("Hi Ada,")


async def test_parse_uses_the_hydrated_row_instead_of_parsing_again(deps: WorkerDeps) -> None:
    message = store_mime(deps, mime_fixture("reply.eml"), text="hydrated text", html=None)
    with Session(deps.engine) as session:
        row = session.get(Message, message.id)
        assert row is not None
        row.parsed_at = utcnow()
        session.add(row)
        session.commit()
        session.refresh(row)
        session.expunge(row)
    output = await Parse().run(step_context(deps, row))
    assert output is not None
    assert output["text"] == "hydrated text" and output["html"] is None and output["attachments"] == []


async def test_parse_html_only_mail_still_has_reply_text(deps: WorkerDeps) -> None:
    html = "<p>Sounds good.</p><div>On Mon, May 6, 2024, Bob wrote:</div><blockquote>Lunch?</blockquote>"
    message = store_email(deps, text=None, html=html)
    output = await Parse().run(step_context(deps, message))
    assert output is not None and output["reply_text"] == "Sounds good."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes.\n\nOn Tue, 7 May 2024 at 10:00, Bob <bob@example.org> wrote:\n> Lunch?\n", "Yes."),
        ("Yes.\n\n-----Original Message-----\nFrom: Bob\nSent: Tuesday\n\nLunch?", "Yes."),
        ("Yes.\n________________________________\nFrom: Bob <bob@example.org>\nSent: Tuesday", "Yes."),
        ("> Lunch?\nYes.\n> Where?\nThe usual place.", "Yes.\nThe usual place."),
        ("Ja.\n\nAm Di., 7. Mai 2024 um 10:00 Uhr schrieb Bob <bob@example.org>:\n> Mittag?", "Ja."),
        ("Oui.\n\nLe mar. 7 mai 2024 à 10:00, Bob <bob@example.org> a écrit :\n> Déjeuner ?", "Oui."),
        ("FYI\n\nBegin forwarded message:\n\nFrom: Bob", "FYI"),
        ("On second thought, no.\nOn Tue, 7 May 2024, Bob wrote:\n> Lunch?", "On second thought, no."),
        ("Nothing quoted here.\nOn the other hand, fine.", "Nothing quoted here.\nOn the other hand, fine."),
    ],
)
def test_reply_text_cuts_at_the_first_quote_marker(text: str, expected: str) -> None:
    assert reply_text(text) == expected


def test_reply_text_of_nothing_is_none() -> None:
    assert reply_text(None) is None


async def test_parse_with_the_mail_parser_engine_gives_the_same_bodies(deps: WorkerDeps) -> None:
    raw = mime_fixture("reply.eml")
    stdlib = await _parse(deps, raw)
    mail_parser = await _parse(deps, raw, engine="mail-parser")
    assert mail_parser["subject"] == stdlib["subject"]
    assert mail_parser["text"].strip() == stdlib["text"].strip()
    # mail-parser names an unnamed inline image after its Content-ID; the PDF is the same.
    assert len(mail_parser["attachments"]) == len(stdlib["attachments"])
    assert "Résumé.pdf" in {a["filename"] for a in mail_parser["attachments"]}
