"""Routing rules: fields, ops, trees, continue semantics, addy.io form, validation, safety."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, get_args

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from service.store.models import Message
from workers.pipeline.selection import routable
from workers.routing import MAX_SCAN_CHARS, Condition, FieldExtractor, Ops, RoutableMessage, RouteTable, plus_tag
from workers.routing.conditions import FieldName, OpName

BASE = RoutableMessage(
    source="webhook",
    provider="improvmx",
    envelope_to=("signup+Beta@test.example.com", "<Ops@Example.org>"),
    envelope_from="bounce@mailer.example.net",
    from_addr="alice@example.org",
    from_name="Alice Smith",
    to=("team@example.com",),
    cc=("boss@example.com", "audit@example.com"),
    subject="Your Verification Code",
    text="Your code is 123456.",
    html="<p>Your code is <b>123456</b></p>",
    headers=(("X-Env", "staging"), ("Received", "from a"), ("received", "from b"), ("X-Empty", "  ")),
    attachments=(("Invoice.PDF", "application/pdf"), ("logo.png", "image/png")),
)


def msg(**changes: Any) -> RoutableMessage:
    return dataclasses.replace(BASE, **changes)


def hit(message: RoutableMessage = BASE, **condition: Any) -> bool:
    return Condition.model_validate(condition).matches(message)


def table(*routes: dict[str, Any]) -> RouteTable:
    return RouteTable.from_list(list(routes))


def errors_of(rules: list[dict[str, Any]]) -> str:
    with pytest.raises(ValidationError) as info:
        RouteTable.from_list(rules)
    return str(info.value)


FIELD_CASES = [
    ("recipient", None, "is", "ops@example.org", True),  # angle brackets stripped, any recipient counts
    ("recipient", None, "ends_with", "@test.example.com", True),
    ("recipient", None, "is", "team@example.com", False),  # header To is not the envelope
    ("from", None, "is", "alice@example.org", True),
    ("from", None, "is", "alice smith", True),
    ("from", None, "is", "Alice Smith <alice@example.org>", True),
    ("from", None, "contains", "bob", False),
    ("to", None, "is", "team@example.com", True),
    ("cc", None, "is", "audit@example.com", True),
    ("cc", None, "is", "team@example.com", False),
    ("subject", None, "contains", "verification", True),
    ("text", None, "contains", "123456", True),
    ("html", None, "contains", "<b>123456</b>", True),
    ("text", None, "contains", "<b>", False),
    ("header", "x-env", "is", "staging", True),  # header names are case-insensitive
    ("header", "RECEIVED", "is", "from b", True),  # any repeated header counts
    ("header", "X-Missing", "contains", "", False),
    ("attachment_name", None, "ends_with", ".pdf", True),
    ("attachment_type", None, "starts_with", "image/", True),
    ("attachment_type", None, "is", "text/plain", False),
    ("source", None, "is", "webhook", True),
    ("provider", None, "is", "improvmx", True),
    ("provider", None, "is", "addy", False),
    ("tag", None, "is", "beta", True),
    ("tag", None, "is", "signup", False),
]


@pytest.mark.parametrize(("field", "name", "op", "value", "expected"), FIELD_CASES)
def test_every_field(field: str, name: str | None, op: str, value: str, expected: bool) -> None:
    extra: dict[str, Any] = {"name": name} if name else {}
    assert hit(field=field, op=op, value=value, **extra) is expected


def test_field_table_covers_every_declared_field() -> None:
    assert FieldExtractor.FIELDS == set(get_args(FieldName))


OP_CASES = [
    ("is", "your verification code", True),
    ("is", "verification", False),
    ("is_not", "verification", True),
    ("is_not", "your verification code", False),
    ("contains", "VERIF", True),
    ("not_contains", "VERIF", False),
    ("not_contains", "invoice", True),
    ("starts_with", "your", True),
    ("not_starts_with", "your", False),
    ("ends_with", "code", True),
    ("not_ends_with", "code", False),
    ("matches", r"verif\w+ code$", True),
    ("matches", r"^code", False),
    ("not_matches", r"^code", True),
]


@pytest.mark.parametrize(("op", "value", "expected"), OP_CASES)
def test_every_op(op: str, value: str, expected: bool) -> None:
    assert hit(field="subject", op=op, value=value) is expected


@pytest.mark.parametrize("spelled", [*Ops.ALIASES, *get_args(OpName), "Is  Exactly", "DOES NOT CONTAIN", "starts with"])
def test_every_spelling_is_accepted(spelled: str) -> None:
    value = None if Ops.canonical(spelled) in Ops.VALUELESS else "x"
    condition = Condition.model_validate({"field": "subject", "op": spelled, "value": value})
    assert condition.op in get_args(OpName)


def test_list_value_means_any_of_and_negation_means_none_of() -> None:
    assert hit(field="subject", op="contains", value=["nope", "code"])
    assert not hit(field="subject", op="not_contains", value=["nope", "code"])
    assert hit(field="subject", op="is_not", value=["a", "b"])


def test_case_sensitivity() -> None:
    assert hit(field="subject", op="is", value="YOUR VERIFICATION CODE")
    assert not hit(field="subject", op="is", value="YOUR VERIFICATION CODE", case_sensitive=True)
    assert hit(field="subject", op="contains", value="Code", case_sensitive=True)
    assert hit(field="subject", op="matches", value="CODE$")
    assert not hit(field="subject", op="matches", value="CODE$", case_sensitive=True)
    assert hit(msg(subject="Straße"), field="subject", op="is", value="STRASSE")  # casefold, not lower


def test_exists() -> None:
    assert hit(field="header", name="X-Env", op="exists")
    assert not hit(field="header", name="X-Empty", op="exists")  # whitespace-only counts as empty
    assert hit(field="header", name="X-Missing", op="not_exists")
    assert not hit(msg(attachments=()), field="attachment_name", op="exists")
    assert not hit(msg(envelope_to=("plain@example.com",)), field="tag", op="exists")
    assert hit(msg(from_addr=None), field="from", op="exists")  # display name alone is a value


BOUNCED = msg(
    bounce_kind="hard", bounce_reason="user_unknown", bounce_status="5.1.1", bounce_recipients=("<Ghost@Example.org>",)
)


@pytest.mark.parametrize(
    ("condition", "on_bounce", "on_ordinary"),
    [
        ({"field": "bounce.kind", "op": "is", "value": "hard"}, True, False),
        ({"field": "bounce.kind", "op": "is", "value": ["soft", "complaint"]}, False, False),
        ({"field": "bounce.kind", "op": "exists"}, True, False),  # "is a bounce"
        ({"not": {"field": "bounce.kind", "op": "exists"}}, False, True),
        ({"field": "bounce.reason", "op": "is", "value": "user_unknown"}, True, False),
        ({"field": "bounce.status", "op": "starts_with", "value": "5.1."}, True, False),
        ({"field": "bounce.recipient", "op": "is", "value": "ghost@example.org"}, True, False),  # bare, any case
        ({"field": "bounce.recipient", "op": "ends_with", "value": "@example.org"}, True, False),
        ({"field": "recipient", "op": "is", "value": "ghost@example.org"}, False, False),  # not the envelope
    ],
)
def test_bounce_fields(condition: dict[str, Any], on_bounce: bool, on_ordinary: bool) -> None:
    assert Condition.model_validate(condition).matches(BOUNCED) is on_bounce
    assert Condition.model_validate(condition).matches(BASE) is on_ordinary


def test_the_routing_view_reads_the_stored_bounce() -> None:
    stored = {
        "kind": "soft",
        "reason": "mailbox_full",
        "status": "4.2.2",
        "reply_code": 452,
        "recipients": ["full@example.org"],
        "diagnostic": "452 4.2.2 Mailbox full",
        "reporting_mta": "mx.example.org",
        "original_message_id": None,
    }
    row = Message(id="m", source="raw", provider="raw", idempotency_key="k", received_at=datetime.now(UTC))
    assert (routable(row, []).bounce_kind, routable(row, []).bounce_recipients) == (None, ())
    row.bounce = stored
    view = routable(row, [])
    assert (view.bounce_kind, view.bounce_reason, view.bounce_status) == ("soft", "mailbox_full", "4.2.2")
    assert view.bounce_recipients == ("full@example.org",)


EXAMPLE_TREE = {
    "all": [
        {"field": "recipient", "op": "ends_with", "value": "@test.example.com"},
        {
            "any": [
                {"field": "subject", "op": "contains", "value": ["code", "verify"]},
                {"field": "header", "name": "X-Env", "op": "is", "value": "staging"},
            ]
        },
        {"not": {"field": "from", "op": "matches", "value": r"^noreply@spam\."}},
    ]
}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, True),
        ({"envelope_to": ("x@other.example.com",)}, False),
        ({"subject": "hello", "headers": ()}, False),
        ({"subject": "hello"}, True),  # X-Env: staging satisfies the any
        ({"from_addr": "noreply@spam.example"}, False),
    ],
)
def test_nested_all_any_not(changes: dict[str, Any], expected: bool) -> None:
    assert Condition.model_validate(EXAMPLE_TREE).matches(msg(**changes)) is expected


CHAIN = """
- {name: audit, when: {field: cc, op: is, value: audit@example.com}, pipeline: archive, continue: true}
- {name: codes, when: {field: subject, op: contains, value: code}, pipeline: qa}
- {name: never, when: {field: subject, op: contains, value: code}, pipeline: dup}
- {name: rest, pipeline: default}
"""


def test_first_match_wins_continue_and_catch_all() -> None:
    routes = RouteTable.from_list(yaml.safe_load(CHAIN))
    assert [r.name for r in routes.select(BASE)] == ["audit", "codes"]
    assert [r.pipeline for r in routes.select(msg(subject="hi", cc=()))] == ["default"]
    assert [r.name for r in routes.select(msg(subject="hi"))] == ["audit", "rest"]
    assert routes.shadowed() == []


def test_unrouted_and_explicit_catch_all() -> None:
    routes = table({"name": "codes", "when": {"field": "subject", "op": "contains", "value": "zzz"}, "pipeline": "qa"})
    assert routes.select(BASE) == []
    assert RouteTable.from_list(None).select(BASE) == []
    everything = table({"name": "all", "catch_all": True, "pipeline": "p"}, {"name": "late", "pipeline": "q"})
    assert everything.root[0].is_catch_all and [r.name for r in everything.select(BASE)] == ["all"]
    assert everything.shadowed() == ["late"]


@pytest.mark.parametrize(
    ("address", "tag"),
    [("u+tag@x.org", "tag"), ("<u+A+b@x.org>", "A+b"), ("u@x.org", None), ("u+@x.org", None), ("no-at+x", None)],
)
def test_plus_tag(address: str, tag: str | None) -> None:
    assert plus_tag(address) == tag


def test_tag_from_any_envelope_recipient() -> None:
    message = msg(envelope_to=("a@x.org", "b+news@x.org", "c+Promo@y.org"))
    assert hit(message, field="tag", op="is", value="promo")
    assert not hit(message, field="tag", op="is", value="promo", case_sensitive=True)


ADDY_MATCHES = [
    ("is exactly", "is"),
    ("is not", "is_not"),
    ("contains", "contains"),
    ("does not contain", "not_contains"),
    ("starts with", "starts_with"),
    ("does not start with", "not_starts_with"),
    ("ends with", "ends_with"),
    ("does not end with", "not_ends_with"),
    ("matches regex", "matches"),
    ("does not match regex", "not_matches"),
]
PROBES = [BASE, msg(from_addr="will@anonaddy.com", from_name=None), msg(subject="will"), msg(envelope_to=("will@x",))]


@pytest.mark.parametrize(("addy_match", "op"), ADDY_MATCHES)
@pytest.mark.parametrize(("addy_type", "field"), [("sender", "from"), ("alias", "recipient"), ("subject", "subject")])
@pytest.mark.parametrize("operator", ["AND", "OR"])
def test_addy_form_equals_mailhook_form(addy_match: str, op: str, addy_type: str, field: str, operator: str) -> None:
    values = ["will@anonaddy.com", "ali"]
    addy = {"type": addy_type, "match": addy_match, "values": values}
    ours = {"field": field, "op": op, "value": values}
    group = "all" if operator == "AND" else "any"
    extra = {"type": "subject", "match": "contains", "values": ["o"]}
    addy_rule = {"name": "a", "conditions": [addy, extra], "operator": operator, "pipeline": "a", "continue": True}
    our_rule = {
        "name": "b",
        "when": {group: [ours, {"field": "subject", "op": "contains", "value": "o"}]},
        "pipeline": "b",
    }
    routes = table(addy_rule, our_rule)
    addy_route, our_route = routes.root
    assert addy_route.condition == our_route.condition
    assert [addy_route.matches(p) for p in PROBES] == [our_route.matches(p) for p in PROBES]


def test_addy_doc_example_verbatim() -> None:
    rule: dict[str, Any] = {"name": "First Rule", "pipeline": "p", "operator": "and"}
    rule["conditions"] = [{"type": "sender", "match": "is not", "values": ["will@anonaddy.com"]}]
    routes = RouteTable.from_list([rule])
    assert routes.select(BASE) and not routes.select(msg(from_addr="Will@AnonAddy.com", from_name=None))


def test_invalid_regex_names_rule_and_path() -> None:
    bad = {
        "all": [
            {"field": "subject", "op": "is", "value": "x"},
            {"not": {"field": "text", "op": "matches", "value": ["ok", "(unclosed"]}},
        ]
    }
    text = errors_of(
        [{"name": "fine", "pipeline": "p", "continue": True}, {"name": "broken", "when": bad, "pipeline": "p"}]
    )
    assert "1.when.all.1.not.value.1" in text and "rule 'broken'" in text and "invalid regex '(unclosed'" in text
    assert "lookaround" in errors_of(
        [{"name": "r", "when": {"field": "text", "op": "matches", "value": "(?=a)"}, "pipeline": "p"}]
    )
    addy = [
        {"name": "a", "conditions": [{"type": "subject", "match": "matches regex", "values": ["["]}], "pipeline": "p"}
    ]
    assert "0.conditions.0.value.0" in errors_of(addy)


@pytest.mark.timeout(30)
def test_catastrophic_regex_returns() -> None:
    """Not a timing test: asserts only that it returns (a backtracking engine would hang; the
    timeout marker turns such a hang into a failure instead of stalling the suite)."""
    evil = msg(text="a" * 50_000 + "!", subject="a" * 50_000 + "!")
    assert hit(evil, field="text", op="matches", value="(a+)+$") is False
    assert hit(evil, field="subject", op="matches", value="^(a|aa)+$") is False


def test_scan_cap_and_undecodable_text() -> None:
    big = msg(text="x" * MAX_SCAN_CHARS + "needle", html="needle" + "x" * MAX_SCAN_CHARS)
    assert not hit(big, field="text", op="contains", value="needle")
    assert hit(big, field="html", op="matches", value="^needle")
    assert hit(msg(text="caf\udce9 menu"), field="text", op="matches", value="menu")  # surrogateescape'd byte


@pytest.mark.parametrize(
    ("rule", "needle"),
    [
        ({"when": {}}, "leave out `when`"),
        ({"when": {"field": "subject", "op": "is", "value": "x"}, "catch_all": True}, "only one of"),
        ({"when": {"field": "subject", "op": "is", "value": "x"}, "operator": "OR"}, "`operator` only applies"),
        ({"conditions": []}, "at least one"),
        ({"when": {"all": []}}, "at least one"),
        ({"when": {"any": [{"field": "to", "op": "is", "value": "x"}], "op": "is"}}, "groups take no op"),
        ({"when": {"field": "header", "op": "is", "value": "x"}}, "needs `name`"),
        ({"when": {"field": "subject", "name": "X", "op": "is", "value": "x"}}, "takes no `name`"),
        ({"when": {"field": "subject", "value": "x"}}, "need an op"),
        ({"when": {"field": "subject", "op": "is"}}, "needs a value"),
        ({"when": {"field": "subject", "op": "is", "value": []}}, "needs a value"),
        ({"when": {"field": "subject", "op": "exists", "value": "x"}}, "takes no value"),
        ({"when": {"field": "subject", "op": "is", "value": True}}, "quote the value"),
        ({"when": {"field": "subject", "op": "like", "value": "x"}}, "unknown op 'like'"),
        ({"when": {"field": "subjct", "op": "is", "value": "x"}}, "when.field"),
        (
            {"when": {"field": "subject", "op": "is", "value": "x", "not": {"field": "to", "op": "exists"}}},
            "exactly one",
        ),
        ({"conditions": [{"type": "alias_description", "match": "contains", "values": ["x"]}]}, "not supported"),
        ({"conditions": [{"type": "sender", "values": ["x"]}]}, "conditions.0.match"),
        ({"contine": True}, "0.contine"),
    ],
)
def test_validation_errors(rule: dict[str, Any], needle: str) -> None:
    assert needle in errors_of([{"name": "r", "pipeline": "p", **rule}])


def test_table_level_validation() -> None:
    assert "repeated: a" in errors_of([{"name": "a", "pipeline": "p"}, {"name": "a", "pipeline": "q"}])
    assert "0.pipeline" in errors_of([{"name": "a"}])
    assert hit(msg(subject="2024"), field="subject", op="is", value=2024)  # unquoted YAML numbers still work


REALISTIC_YAML = r"""
routes:
  - name: signup-codes
    description: One-time codes from the staging signup flow go to QA.
    when:
      all:
        - {field: recipient, op: ends_with, value: "@test.example.com"}
        - any:
            - {field: subject, op: contains, value: ["code", "verify"]}   # list = any of the values
            - {field: header, name: X-Env, op: is, value: staging}
        - not: {field: from, op: matches, value: "^noreply@spam\\."}
    pipeline: qa
    continue: false
  - name: invoices
    conditions:
      - {type: sender, match: "ends with", values: ["@billing.example.com"]}
      - {type: subject, match: "contains", values: [invoice, receipt]}
    operator: OR
    pipeline: accounting
    continue: true
  - name: catch-all
    pipeline: default
"""


def test_yaml_round_trip() -> None:
    routes = RouteTable.from_list(yaml.safe_load(REALISTIC_YAML)["routes"])
    dumped = yaml.safe_dump(routes.model_dump(mode="json", by_alias=True, exclude_defaults=True))
    again = RouteTable.from_list(yaml.safe_load(dumped))
    assert again == routes
    assert [r.name for r in again.select(BASE)] == ["signup-codes"]
    assert [r.pipeline for r in again.select(msg(subject="Your receipt", headers=()))] == ["accounting", "default"]
    assert "'continue': True" not in dumped and "continue: true" in dumped


def _leaf(draw: st.DrawFn) -> dict[str, Any]:
    field = draw(st.sampled_from(get_args(FieldName)))
    op = draw(st.sampled_from([*get_args(OpName), *Ops.ALIASES]))
    leaf: dict[str, Any] = {"field": field, "op": op, "case_sensitive": draw(st.booleans())}
    if field == "header":
        leaf["name"] = draw(st.sampled_from(["X-Env", "received", "Nope"]))
    elif field == "spam":
        leaf["name"] = draw(st.sampled_from(["flag", "Score", "nope"]))
    if Ops.canonical(op) in Ops.REGEX:
        leaf["value"] = draw(st.lists(st.sampled_from(["^a", "(a+)+$", r"\d{3}", "é|ß", ".*", "[^@]+@x"]), min_size=1))
    elif Ops.canonical(op) not in Ops.VALUELESS:
        leaf["value"] = draw(st.lists(st.text(max_size=5), min_size=1, max_size=3))
    return leaf


TEXT = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=30)
LEAVES = st.composite(_leaf)()
TREES = st.recursive(
    LEAVES,
    lambda kids: st.one_of(
        st.lists(kids, min_size=1, max_size=3).map(lambda c: {"all": c}),
        st.lists(kids, min_size=1, max_size=3).map(lambda c: {"any": c}),
        kids.map(lambda c: {"not": c}),
    ),
    max_leaves=8,
)
MESSAGES = st.builds(
    RoutableMessage,
    **{f.name: TEXT for f in dataclasses.fields(RoutableMessage) if f.type == "str"},
    envelope_to=st.lists(TEXT, max_size=3).map(tuple),
    envelope_from=st.none() | TEXT,
    from_addr=st.none() | TEXT,
    from_name=st.none() | TEXT,
    to=st.lists(TEXT, max_size=2).map(tuple),
    cc=st.lists(TEXT, max_size=2).map(tuple),
    headers=st.lists(st.tuples(st.sampled_from(["X-Env", "Received", "x"]), TEXT), max_size=3).map(tuple),
    attachments=st.lists(st.tuples(TEXT, TEXT), max_size=2).map(tuple),
    bcc=st.lists(TEXT, max_size=2).map(tuple),
    spam=st.lists(st.tuples(st.sampled_from(["flag", "score"]), TEXT), max_size=2).map(tuple),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=TREES, message=MESSAGES)
def test_random_trees_never_raise(tree: dict[str, Any], message: RoutableMessage) -> None:
    condition = Condition.model_validate(tree)
    assert condition.matches(message) in (True, False)
    route_table = RouteTable.from_list([{"name": "r", "when": tree, "pipeline": "p"}])
    assert len(route_table.select(message)) == int(condition.matches(message))


def test_spam_verdict_bcc_and_stripped_text_are_routable() -> None:
    flagged = msg(spam=(("flag", "Yes"), ("score", "7.9")), bcc=("audit@example.org",), stripped_text="Thanks!")
    assert hit(flagged, field="spam", name="flag", op="is", value="yes")
    assert not hit(BASE, field="spam", name="flag", op="is", value="yes")
    assert hit(flagged, field="spam", name="Score", op="matches", value=r"^[5-9]\.")
    assert hit(flagged, field="bcc", op="is", value="audit@example.org")
    assert hit(flagged, field="stripped_text", op="is", value="thanks!")


def test_spam_needs_a_name_saying_which_verdict() -> None:
    with pytest.raises(ValidationError, match="needs `name` \\(the verdict"):
        Condition.model_validate({"field": "spam", "op": "is", "value": "yes"})
