"""`mailhook inspect`: route, pipeline, code, links and defects of message files, no side effects."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import aiosmtplib
import httpx
import pytest
from click.testing import CliRunner

from service.cli.main import cli
from service.settings import Settings
from tests.conftest import FIXTURES, IMPROVMX_SECRET
from tests.support.api import RAW_SECRET, deliver_raw, raw_mime
from tests.support.processes import mailhook_command, mailhook_env
from tests.support.smtp import running_smtp

CONFIG = """
pipelines:
  logins: [parse, extract_otp, extract_links]
routes:
  - name: login-codes
    when: {field: recipient, op: ends_with, value: "@in.example.net"}
    pipeline: logins
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "mailhook.yaml"
    path.write_text(CONFIG)
    monkeypatch.setenv("MAILHOOK_CONFIG", str(path))
    monkeypatch.setenv("MAILHOOK_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MAILHOOK_DATABASE_URL", f"sqlite:///{tmp_path}/var/never.db")
    monkeypatch.chdir(tmp_path)
    return path


def _inspect(*args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(cli, ["inspect", "--json", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_inspect_reports_route_pipeline_code_and_defects_per_file(config: Path, tmp_path: Path) -> None:
    otp, dsn, broken = (FIXTURES / name for name in ("raw/otp.eml", "mime/dsn.eml", "mime/broken_boundary.eml"))
    first, second, third = _inspect(str(otp), str(dsn), str(broken))
    assert first["file"] == str(otp)
    assert (first["route"], first["pipeline"], first["code"]) == ("login-codes", "logins", "593812")
    assert first["envelope_to"] == ["login@in.example.net"]
    assert (second["route"], second["pipeline"], second["code"]) == (None, None, None), "unrouted, no code"
    assert third["defects"], "a broken multipart boundary is reported as a defect"
    assert not (tmp_path / "var").exists(), "inspect must not create a database or blobs"


def test_inspect_assumes_the_given_recipient(config: Path) -> None:
    [result] = _inspect("--to", "someone@elsewhere.example", str(FIXTURES / "raw/otp.eml"))
    assert result["route"] is None and result["envelope_to"] == ["someone@elsewhere.example"]


def test_inspect_finds_links(config: Path, tmp_path: Path) -> None:
    eml = tmp_path / "link.eml"
    eml.write_bytes(
        b"From: a@example.org\r\nTo: b@in.example.net\r\nSubject: Confirm\r\nContent-Type: text/html\r\n\r\n"
        b'<p><a href="https://app.example.org/verify?token=abc123">Confirm your email</a></p>'
        b'<p><a href="https://app.example.org/unsubscribe">Unsubscribe</a></p>'
    )
    [result] = _inspect(str(eml))
    assert result["links"] == ["https://app.example.org/verify?token=abc123"]


def test_inspect_plain_output_is_readable(config: Path) -> None:
    result = CliRunner().invoke(cli, ["inspect", str(FIXTURES / "raw/otp.eml")])
    assert result.exit_code == 0 and "code:        593812" in result.output


def test_inspect_refuses_a_provider_json_file_read_as_mime(config: Path) -> None:
    result = CliRunner().invoke(cli, ["inspect", str(FIXTURES / "improvmx/otp.json")])
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"{FIXTURES / 'improvmx/otp.json'}: looks like a provider's JSON delivery: use --provider")


def test_inspect_refuses_what_is_not_a_message(config: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 not mail at all\n")
    result = CliRunner().invoke(cli, ["inspect", str(junk)])
    assert result.exit_code == 1 and "not a MIME message" in result.output and "Traceback" not in result.output


def test_inspect_reads_a_provider_delivery_with_that_providers_module(config: Path) -> None:
    [result] = _inspect("--provider", "improvmx", str(FIXTURES / "improvmx/otp.json"))
    assert result["code"] == "731904"
    assert result["recipients"] == ["signup@qa.example.com"]
    bad = CliRunner().invoke(cli, ["inspect", "--provider", "postmark", str(FIXTURES / "improvmx/otp.json")])
    assert bad.exit_code == 1 and bad.output.startswith(f"{FIXTURES / 'improvmx/otp.json'}: postmark cannot read it")


def test_inspect_needs_files_or_an_id(config: Path) -> None:
    result = CliRunner().invoke(cli, ["inspect"])
    assert result.exit_code == 2 and "give FILES or --id MESSAGE_ID" in result.output


def test_inspect_reads_a_stored_message_by_id(settings: Settings, live_app: str) -> None:
    response = httpx.post(
        f"{live_app}/hooks/improvmx/{IMPROVMX_SECRET}", content=(FIXTURES / "improvmx/otp.json").read_bytes()
    )
    message_id = response.json()["messages"][0]["id"]
    env = mailhook_env(settings)
    result = subprocess.run(
        mailhook_command("inspect", "--json", "--id", message_id), env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    [report] = [json.loads(line) for line in result.stdout.splitlines()]
    assert (report["file"], report["code"]) == (message_id, "731904")
    missing = subprocess.run(
        mailhook_command("inspect", "--id", "01NOSUCHMESSAGE0000000000"), env=env, capture_output=True, text=True
    )
    assert missing.returncode == 1 and missing.stderr.strip() == (
        "01NOSUCHMESSAGE0000000000: no stored message with id 01NOSUCHMESSAGE0000000000"
    )


def test_inspect_reads_the_sender_name_as_evidence(config: Path, tmp_path: Path) -> None:
    eml = tmp_path / "welcome.eml"
    eml.write_bytes(
        b"From: Lumen Security <no-reply@lumen.example>\r\nTo: b@in.example.net\r\nSubject: Welcome back\r\n"
        b"Content-Type: text/plain\r\n\r\nType 604118 into the window you came from.\r\n"
    )
    [result] = _inspect(str(eml))
    assert result["code"] == "604118"


BOUNCE_KEYS = {"kind", "reason", "status", "reply_code", "recipients", "diagnostic"}


def test_inspect_reports_the_bounce_of_mime_files(config: Path) -> None:
    dsn, qmail, otp = _inspect(
        *(str(FIXTURES / name) for name in ("mime/dsn.eml", "mime/bounce_qmail.eml", "raw/otp.eml"))
    )
    assert dsn["bounce"] == {
        "kind": "hard",
        "reason": "user_unknown",
        "status": "5.1.1",
        "reply_code": None,
        "recipients": ["nobody@inbox.example"],
        "diagnostic": "user unknown",
    }
    assert isinstance(qmail["bounce"], dict) and set(qmail["bounce"]) == BOUNCE_KEYS
    assert (qmail["bounce"]["reply_code"], qmail["code"]) == (550, None), "the quoted original's code is not taken"
    assert otp["bounce"] is None and otp["code"] == "593812"


def test_inspect_reports_the_bounce_of_a_provider_delivery_without_raw_mime(config: Path) -> None:
    [dsn] = _inspect("--provider", "improvmx", str(FIXTURES / "improvmx/dsn.json"))
    [otp] = _inspect("--provider", "improvmx", str(FIXTURES / "improvmx/otp.json"))
    assert isinstance(dsn["bounce"], dict) and set(dsn["bounce"]) == BOUNCE_KEYS
    assert (dsn["bounce"]["kind"], dsn["bounce"]["status"], dsn["bounce"]["recipients"]) == (
        "hard",
        "5.1.1",
        ["nobody@inbox.example"],
    )
    assert otp["bounce"] is None


def test_inspect_reports_the_bounce_of_stored_messages(settings: Settings, live_app: str) -> None:
    imx = httpx.post(
        f"{live_app}/hooks/improvmx/{IMPROVMX_SECRET}", content=(FIXTURES / "improvmx/dsn.json").read_bytes()
    )
    otp = httpx.post(
        f"{live_app}/hooks/improvmx/{IMPROVMX_SECRET}", content=(FIXTURES / "improvmx/otp.json").read_bytes()
    )
    ids = [response.json()["messages"][0]["id"] for response in (imx, otp)]
    env = {key: value for key, value in mailhook_env(settings).items() if key.startswith("MAILHOOK_")}
    result = CliRunner().invoke(cli, ["inspect", "--json", *(arg for mid in ids for arg in ("--id", mid))], env=env)
    assert result.exit_code == 0, result.output
    dsn, ordinary = (json.loads(line) for line in result.output.splitlines())
    assert dsn["file"] == ids[0] and dsn["bounce"]["kind"] == "hard" and dsn["bounce"]["reply_code"] == 550
    assert ordinary["bounce"] is None
    plain = CliRunner().invoke(cli, ["inspect", "--id", ids[0]], env=env)
    assert "bounce:      hard user_unknown 5.1.1 550: nobody@inbox.example" in plain.output


STORED_CONFIG = f"""
sources:
  - {{name: raw, provider: raw, secrets: ["{RAW_SECRET}"]}}
smtp:
  domains: [in.example.net]
{CONFIG}
"""


@pytest.fixture
def stored_config(settings: Settings) -> None:
    settings.config.write_text(STORED_CONFIG)


async def test_inspect_reads_raw_http_and_smtp_messages_by_id(
    stored_config: None, settings: Settings, live_app: str
) -> None:
    """Their kept payload is the envelope JSON; inspect reads the MIME from the blob store."""
    async with httpx.AsyncClient(base_url=live_app) as http:
        raw_id = await deliver_raw(http, "signup+raw@in.example.net", subject="Your sign-in code", code="482913")
    mail = raw_mime("signup+smtp@in.example.net", subject="Your login code", code="615243")
    async with running_smtp(settings) as port:
        _, reply = await aiosmtplib.send(
            mail,
            sender="bounce@acme.example",
            recipients=["signup+smtp@in.example.net"],
            hostname="127.0.0.1",
            port=port,
        )
    smtp_id = reply.rsplit(" ", 1)[-1]
    result = subprocess.run(
        mailhook_command("inspect", "--json", "--id", raw_id, "--id", smtp_id),
        env=mailhook_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    raw_report, smtp_report = [json.loads(line) for line in result.stdout.splitlines()]
    assert raw_report["file"] == raw_id and smtp_report["file"] == smtp_id
    for report, code, subject, to in (
        (raw_report, "482913", "Your sign-in code", "signup+raw@in.example.net"),
        (smtp_report, "615243", "Your login code", "signup+smtp@in.example.net"),
    ):
        assert (report["code"], report["subject"], report["from"]) == (code, subject, "no-reply@acme.example")
        assert (report["recipients"], report["envelope_to"]) == ([to], [to])
        assert (report["route"], report["pipeline"]) == ("login-codes", "logins")
        assert report["links"] == [f"https://acme.example/login?token={code}abc"]
        assert report["defects"] == []
    plain = subprocess.run(
        mailhook_command("inspect", "--id", smtp_id), env=mailhook_env(settings), capture_output=True, text=True
    )
    assert plain.returncode == 0 and "615243" in plain.stdout and "envelope" not in plain.stdout


async def test_inspect_says_when_a_stored_messages_mime_is_gone(
    stored_config: None, settings: Settings, live_app: str
) -> None:
    async with httpx.AsyncClient(base_url=live_app) as http:
        raw_id = await deliver_raw(http, "signup@in.example.net")
    for blob in settings.blob_dir.rglob("*"):
        if blob.is_file():
            blob.unlink()
    result = subprocess.run(
        mailhook_command("inspect", "--id", raw_id), env=mailhook_env(settings), capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"{raw_id}: the raw MIME of message {raw_id} is missing from the blob store"


async def test_inspect_reports_the_bounce_of_a_dsn_stored_through_raw_http(
    stored_config: None, settings: Settings, live_app: str
) -> None:
    async with httpx.AsyncClient(base_url=live_app) as http:
        response = await http.post(
            f"/hooks/raw/{RAW_SECRET}",
            params={"to": "bounces@in.example.net"},
            content=(FIXTURES / "mime/dsn.eml").read_bytes(),
            headers={"Content-Type": "message/rfc822"},
        )
    mid = response.json()["messages"][0]["id"]
    result = subprocess.run(
        mailhook_command("inspect", "--json", "--id", mid), env=mailhook_env(settings), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["bounce"]["kind"] == "hard" and report["bounce"]["recipients"] == ["nobody@inbox.example"]
    assert report["code"] is None
