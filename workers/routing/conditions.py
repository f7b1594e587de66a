"""The `when:` condition tree of a route: all / any / not groups over field tests.

One model, `Condition`, covers both groups and leaves (instead of a tagged union) so that
pydantic error locations read like the YAML the user wrote, e.g. `when.all.2.not.value.0`,
rather than being interleaved with union tag names.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Annotated, Any, ClassVar, Literal, Self, get_args

import re2
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from workers.routing.view import FieldExtractor, RoutableMessage

FieldName = Literal[
    "recipient",
    "from",
    "to",
    "cc",
    "subject",
    "text",
    "html",
    "header",
    "bcc",
    "stripped_text",
    "spam",
    "attachment_name",
    "attachment_type",
    "source",
    "provider",
    "tag",
    "bounce.kind",
    "bounce.reason",
    "bounce.status",
    "bounce.recipient",
]
OpName = Literal[
    "is",
    "is_not",
    "contains",
    "not_contains",
    "starts_with",
    "not_starts_with",
    "ends_with",
    "not_ends_with",
    "matches",
    "not_matches",
    "exists",
    "not_exists",
]


class Ops:
    """Operator vocabulary: our names, human spellings, and addy.io's `match` strings."""

    ALIASES: ClassVar[dict[str, str]] = {
        "is exactly": "is",
        "equals": "is",
        "is not": "is_not",
        "does not contain": "not_contains",
        "starts with": "starts_with",
        "does not start with": "not_starts_with",
        "ends with": "ends_with",
        "does not end with": "not_ends_with",
        "matches regex": "matches",
        "does not match regex": "not_matches",
        "does not match": "not_matches",
        "does not exist": "not_exists",
    }
    #: Negative ops are evaluated as `not <positive op>`, so "is_not [a, b]" means "none of".
    NEGATED: ClassVar[dict[str, str]] = {
        "is_not": "is",
        "not_contains": "contains",
        "not_starts_with": "starts_with",
        "not_ends_with": "ends_with",
        "not_matches": "matches",
        "not_exists": "exists",
    }
    #: (candidate, needle) -> bool for the plain string ops; both sides already casefolded.
    TESTS: ClassVar[dict[str, Callable[[str, str], bool]]] = {
        "is": operator.eq,
        "contains": operator.contains,
        "starts_with": str.startswith,
        "ends_with": str.endswith,
    }
    VALUELESS: ClassVar[frozenset[str]] = frozenset({"exists", "not_exists"})
    REGEX: ClassVar[frozenset[str]] = frozenset({"matches", "not_matches"})

    @classmethod
    def canonical(cls, spelled: Any) -> Any:
        """Map any accepted spelling (case and spacing insensitive) to the canonical op."""
        if not isinstance(spelled, str):
            return spelled
        words = " ".join(spelled.strip().lower().split())
        if words in cls.ALIASES:
            return cls.ALIASES[words]
        underscored = words.replace(" ", "_")
        if underscored in get_args(OpName):
            return underscored
        accepted = ", ".join([*get_args(OpName), *(repr(a) for a in cls.ALIASES)])
        raise ValueError(f"unknown op {spelled!r}; accepted: {accepted}")


def _coerce_values(raw: Any) -> Any:
    """Accept one value or a list; numbers become strings, YAML booleans are refused.

    YAML turns unquoted `yes`/`no`/`on`/`off` into booleans, which is almost never what
    the rule author meant, so we ask for quotes instead of silently matching "True".
    """
    items = raw if isinstance(raw, list | tuple) else [raw]
    for item in items:
        if isinstance(item, bool):
            raise ValueError(f"{item!r} is a YAML boolean; quote the value (e.g. 'yes') to match text")
    return [str(i) if isinstance(i, int | float) else i for i in items]


Values = Annotated[tuple[str, ...], BeforeValidator(_coerce_values)]
Op = Annotated[OpName, BeforeValidator(Ops.canonical)]


@dataclass(frozen=True)
class CompiledRegex:
    """An RE2 pattern (linear-time: no catastrophic backtracking), compared by source."""

    source: str
    case_sensitive: bool
    compiled: Any = dataclass_field(compare=False, repr=False)

    @classmethod
    def compile(cls, source: str, case_sensitive: bool) -> CompiledRegex:
        options = re2.Options()
        options.log_errors = False
        options.case_sensitive = case_sensitive
        try:
            return cls(source, case_sensitive, re2.compile(source, options))
        except re2.error as exc:
            detail = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else exc
            raise ValueError(
                f"invalid regex {source!r}: {detail} (RE2 syntax: no lookaround or backreferences)"
            ) from None

    def search(self, text: str) -> bool:
        """Unanchored search; lone surrogates (from undecodable mail bytes) become U+FFFD."""
        try:
            return self.compiled.search(text) is not None
        except UnicodeEncodeError:
            clean = text.encode("utf-8", "replace").decode("utf-8")
            return self.compiled.search(clean) is not None


def _error_at(loc: tuple[str | int, ...], message: str, value: Any) -> ValidationError:
    """A ValidationError whose location pydantic prefixes with the condition's own path."""
    detail = InitErrorDetails(type=PydanticCustomError("condition", message), loc=loc, input=value)
    return ValidationError.from_exception_data("Condition", [detail])


class Condition(BaseModel):
    """Exactly one of: `all: [...]`, `any: [...]`, `not: {...}`, or a field test.

    Field test: `{field, op, value, name?, case_sensitive?}`. Comparisons are
    case-insensitive (casefolded) unless `case_sensitive: true`. A list `value` matches if
    any element does. `matches` is an unanchored RE2 search: add ^/$ yourself.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, serialize_by_alias=True)

    all_: tuple[Condition, ...] | None = Field(default=None, alias="all")
    any_: tuple[Condition, ...] | None = Field(default=None, alias="any")
    not_: Condition | None = Field(default=None, alias="not")
    field: FieldName | None = None
    name: str | None = Field(default=None, min_length=1)
    op: Op | None = None
    value: Values | None = None
    case_sensitive: bool = False

    _needles: tuple[str, ...] = PrivateAttr(default=())
    _regexes: tuple[CompiledRegex, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _check_shape(self) -> Self:
        groups = [k for k, v in (("all", self.all_), ("any", self.any_), ("not", self.not_)) if v is not None]
        forms = groups + (["field"] if self.field is not None else [])
        if len(forms) != 1:
            found = ", ".join(forms) or "none; for a catch-all leave out `when`"
            raise ValueError(f"a condition needs exactly one of all / any / not / field (found: {found})")
        if groups:
            self._check_group(groups[0])
        elif self.field is not None:  # always, with exactly one form and no group
            self._check_leaf(self.field)
        return self

    def _check_group(self, kind: str) -> None:
        stray = {"name", "op", "value", "case_sensitive"} & self.model_fields_set
        if stray:
            raise ValueError(f"{kind!r} groups take no {', '.join(sorted(stray))}; put them on a field condition")
        if kind in ("all", "any") and not getattr(self, f"{kind}_"):
            raise ValueError(f"{kind!r} needs at least one condition (omit `when` for a catch-all)")

    def _check_leaf(self, field: FieldName) -> None:
        if self.op is None:
            raise _error_at(("op",), "field conditions need an op", None)
        named = field in FieldExtractor.NAMED_FIELDS
        if named != (self.name is not None):
            need = f"needs `name` ({FieldExtractor.NAMED_FIELDS[field]})" if named else "takes no `name`"
            raise _error_at(("name",), f"field {field!r} {need}", self.name)
        if self.op in Ops.VALUELESS:
            if self.value is not None:
                raise _error_at(("value",), f"{self.op!r} takes no value (wrap in `not:` to negate)", self.value)
            return
        if not self.value:
            raise _error_at(("value",), f"op {self.op!r} needs a value (a string or a non-empty list)", self.value)
        self._needles = tuple(v if self.case_sensitive else v.casefold() for v in self.value)
        if self.op in Ops.REGEX:
            self._regexes = tuple(self._compile(i, v) for i, v in enumerate(self.value))

    def _compile(self, index: int, pattern: str) -> CompiledRegex:
        try:
            return CompiledRegex.compile(pattern, self.case_sensitive)
        except ValueError as exc:
            raise _error_at(("value", index), str(exc), pattern) from None

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        """Hide unset fields: a tree repr is read in logs, where 8 Nones per node is noise."""
        return [(k, v) for k, v in super().__repr_args__() if k in self.model_fields_set]

    def matches(self, msg: RoutableMessage) -> bool:
        """True if `msg` satisfies this (sub)tree. Never raises for a validated tree."""
        if self.all_ is not None:
            return all(c.matches(msg) for c in self.all_)
        if self.any_ is not None:
            return any(c.matches(msg) for c in self.any_)
        if self.not_ is not None:
            return not self.not_.matches(msg)
        return self._leaf_matches(msg)

    def _leaf_matches(self, msg: RoutableMessage) -> bool:
        assert self.field is not None and self.op is not None  # guaranteed by _check_shape
        positive = Ops.NEGATED.get(self.op, self.op)
        hit = self._test(positive, FieldExtractor.values(msg, self.field, self.name))
        return hit if positive == self.op else not hit

    def _test(self, op: str, candidates: Iterable[str]) -> bool:
        if op == "exists":
            return any(c.strip() for c in candidates)
        if op == "matches":
            return any(r.search(c) for c in candidates for r in self._regexes)
        folded = candidates if self.case_sensitive else [c.casefold() for c in candidates]
        test = Ops.TESTS[op]
        return any(test(c, n) for c in folded for n in self._needles)
