"""Names in the config file: each list's names are unique, and pulled bounce-log accounts take no
hook source's name (both are the ``source`` of stored rows). The errors name every clash, sorted."""

from __future__ import annotations

import pytest

from service.config import ConfigError, parse_config

PASSWORD = "0123456789abcdef-pw"


def _source(name: str) -> str:
    return f"  - {{name: {name}, provider: postmark, secrets: [s3cret-s3cret-s3cret]}}\n"


def _bounce_log(name: str) -> str:
    return f"  - {{name: {name}, provider: addy, api_key: k}}\n"


def _problems(yaml_text: str) -> str:
    with pytest.raises(ConfigError) as error:
        parse_config(yaml_text)
    return str(error.value)


def test_repeated_source_names_are_listed_once_each_and_sorted() -> None:
    text = "sources:\n" + "".join(map(_source, ["zeta", "alpha", "zeta", "beta", "alpha", "zeta"]))
    assert "duplicate source names: alpha, zeta" in _problems(text)


def test_bounce_log_names_clash_with_each_other_and_with_sources() -> None:
    text = (
        "sources:\n" + _source("hooks") + "bounce_logs:\n" + "".join(map(_bounce_log, ["pull", "hooks", "pull", "ok"]))
    )
    assert "bounce_logs names must be unique and differ from source names: hooks, pull" in _problems(text)


def test_distinct_names_are_accepted() -> None:
    text = "sources:\n" + _source("a") + _source("b") + "bounce_logs:\n" + _bounce_log("c")
    config = parse_config(text)
    assert [s.name for s in config.sources] == ["a", "b"]
    assert [a.name for a in config.bounce_logs] == ["c"]


def test_repeated_smtp_usernames_are_refused() -> None:
    users = ", ".join(f"{{username: {name}, password: {PASSWORD}}}" for name in ["bob", "al", "bob", "al"])
    text = f"smtp:\n  domains: [a.example]\n  auth_require_tls: false\n  auth_users: [{users}]\n"
    assert "duplicate usernames: al, bob" in _problems(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "sources:\n" + _source("Not-Lower"),
            "sources.0.name: Value error, must be lower-case letters, digits, '-' or '_', 1 to 63 of them"
            " (used in URLs)",
        ),
        (
            "bounce_logs:\n" + _bounce_log("-dash"),
            "bounce_logs.0.name: Value error, must be lower-case letters, digits, '-' or '_', 1 to 63 of them"
            " (it names the bounce source)",
        ),
        (
            "smtp:\n  domains: [a.example]\n  source: " + "x" * 64,
            "smtp.source: Value error, must be lower-case letters, digits, '-' or '_', 1 to 63 of them (used in URLs)",
        ),
    ],
)
def test_source_names_follow_one_rule(text: str, message: str) -> None:
    assert message in _problems(text)
