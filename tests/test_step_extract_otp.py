"""``extract_otp``: the step hands the subject and the sender's display name to ``find_code``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from service.mail.bounce import BounceReport
from service.mail.inbound import Address
from service.settings import Settings
from tests.conftest import FIXTURES
from tests.support.steps import step_context, store_email, worker_deps
from workers.bouncemail import bounce_value
from workers.bounces import classify
from workers.deps import WorkerDeps
from workers.steps.extract_otp import ExtractOtp

TEXT = "Welcome back!\n\nType 604118 into the window you came from.\n"


@pytest.fixture
async def deps(settings: Settings, write_config: Callable[..., Path]) -> AsyncIterator[WorkerDeps]:
    write_config()
    async with worker_deps(settings) as built:
        yield built


async def test_sender_display_name_counts_as_evidence(deps: WorkerDeps) -> None:
    sender = Address("Lumen Security", "no-reply@lumen.example")
    message = store_email(deps, header_from=sender, subject="Welcome back", text=TEXT, html=None)
    assert await ExtractOtp().run(step_context(deps, message)) == {"code": "604118"}


async def test_without_a_telling_sender_or_subject_the_instruction_is_not_enough(deps: WorkerDeps) -> None:
    sender = Address("Lumen", "no-reply@lumen.example")
    message = store_email(deps, header_from=sender, subject="Welcome back", text=TEXT, html=None)
    assert await ExtractOtp().run(step_context(deps, message)) == {"code": None}


QUOTED_OTP = (FIXTURES / "mime/bounce_qmail.eml").read_text().split("\n\n", 1)[1]


async def test_a_message_marked_as_a_bounce_yields_no_code(deps: WorkerDeps) -> None:
    """A DSN quotes the original mail, code included; that code was never meant for this inbox."""
    fields = {
        "header_from": Address(None, "MAILER-DAEMON@mx.inbox.example"),
        "subject": "failure notice",
        "text": QUOTED_OTP,
        "html": None,
    }
    unmarked = store_email(deps, **fields)
    assert await ExtractOtp().run(step_context(deps, unmarked)) == {"code": "048213"}, "the text does hold a code"
    marked = store_email(deps, **fields)
    marked.bounce = bounce_value(classify_raw_fixture())
    assert await ExtractOtp().run(step_context(deps, marked)) == {"code": None}


def classify_raw_fixture() -> BounceReport:
    report = classify((FIXTURES / "mime/bounce_qmail.eml").read_bytes())
    assert report is not None and report.kind == "hard"
    return report
