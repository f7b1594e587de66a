"""`mailhook inspect`: route, pipeline, code, links and defects of message files, no side effects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli.main import cli
from tests.conftest import FIXTURES

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
