"""Ordered routing rules (`routes:` in mailhook.yaml) and the table that selects pipelines.

A rule's condition can be written as a Mailhook `when:` tree or in addy.io's
`conditions:` + `operator:` vocabulary; both are validated into the same `Condition`
tree so evaluation has one code path.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    RootModel,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from workers.routing.conditions import Condition, FieldName, Op, Values
from workers.routing.view import RoutableMessage


class AddyTypes:
    """addy.io condition `type` names mapped to Mailhook fields."""

    TYPES: ClassVar[dict[str, str]] = {"sender": "from", "alias": "recipient", "subject": "subject"}
    UNSUPPORTED: ClassVar[dict[str, str]] = {
        "alias_description": "Mailhook has no alias descriptions; match the recipient (alias) instead",
    }

    @classmethod
    def to_field(cls, raw: Any) -> Any:
        """Translate addy names; Mailhook field names pass through to the Literal check."""
        if not isinstance(raw, str):
            return raw
        key = raw.strip().lower()
        if key in cls.UNSUPPORTED:
            raise ValueError(f"addy.io type {raw!r} is not supported: {cls.UNSUPPORTED[key]}")
        return cls.TYPES.get(key, key)


def _upper(raw: Any) -> Any:
    return raw.strip().upper() if isinstance(raw, str) else raw


class AddyCondition(BaseModel):
    """One addy.io rule condition, e.g. `{type: sender, match: "is exactly", values: [...]}`.

    `match` is required: addy.io documents it as optional without saying what the default
    is, and guessing would route mail silently wrong.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Annotated[FieldName, BeforeValidator(AddyTypes.to_field)]
    match: Op
    values: Values = ()
    name: str | None = None
    case_sensitive: bool = False

    _condition: Condition = PrivateAttr()

    @model_validator(mode="after")
    def _translate(self) -> Self:
        leaf: dict[str, Any] = {"field": self.type, "op": self.match, "case_sensitive": self.case_sensitive}
        if self.values or self.match not in ("exists", "not_exists"):
            leaf["value"] = list(self.values)
        if self.name is not None:
            leaf["name"] = self.name
        self._condition = Condition.model_validate(leaf)
        return self

    def to_condition(self) -> Condition:
        """The equivalent Mailhook field condition."""
        return self._condition


def _prefix_errors(rule: str, exc: ValidationError) -> ValidationError:
    """Re-raise nested errors with the rule name in the message; pydantic keeps the path."""
    details = [
        InitErrorDetails(
            type=PydanticCustomError(err["type"], f"rule {rule!r}: {err['msg'].removeprefix('Value error, ')}"),
            loc=err["loc"],
            input=err["input"],
        )
        for err in exc.errors()
    ]
    return ValidationError.from_exception_data(exc.title, details)


class Route(BaseModel):
    """One routing rule: a condition (or none = catch-all) and the pipeline it selects.

    Exactly one of `when`, `conditions` (addy.io form, combined by `operator`), or
    `catch_all: true` may be given; giving none also makes a catch-all. `continue: true`
    keeps evaluating later rules after this one matches; the default is first match wins.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, serialize_by_alias=True)

    name: str = Field(min_length=1)
    description: str | None = None
    when: Condition | None = None
    conditions: tuple[AddyCondition, ...] | None = None
    operator: Annotated[Literal["AND", "OR"], BeforeValidator(_upper)] = "AND"
    catch_all: bool = False
    pipeline: str = Field(min_length=1)
    continue_: bool = Field(default=False, alias="continue")

    _tree: Condition | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _name_errors(cls, data: Any, handler: ModelWrapValidatorHandler[Route]) -> Route:
        try:
            return handler(data)
        except ValidationError as exc:
            name = data.get("name") if isinstance(data, dict) else None
            if not isinstance(name, str) or not name:
                raise
            raise _prefix_errors(name, exc) from None

    @model_validator(mode="after")
    def _build_tree(self) -> Self:
        given = [k for k in ("when", "conditions") if getattr(self, k) is not None]
        if self.catch_all:
            given.append("catch_all")
        if len(given) > 1:
            raise ValueError(f"give only one of when / conditions / catch_all (found: {', '.join(given)})")
        if "operator" in self.model_fields_set and self.conditions is None:
            raise ValueError("`operator` only applies to addy.io-style `conditions`; use all/any under `when`")
        if self.conditions is not None:
            self._tree = self._from_addy(self.conditions)
        else:
            self._tree = self.when
        return self

    def _from_addy(self, conditions: tuple[AddyCondition, ...]) -> Condition:
        if not conditions:
            raise ValueError("`conditions` needs at least one condition (omit it for a catch-all)")
        leaves = [c.to_condition() for c in conditions]
        return Condition(**{"all" if self.operator == "AND" else "any": tuple(leaves)})

    @property
    def is_catch_all(self) -> bool:
        """True if this rule matches every message."""
        return self._tree is None

    @property
    def condition(self) -> Condition | None:
        """The effective condition tree (addy.io form already translated), None for catch-all."""
        return self._tree

    def matches(self, msg: RoutableMessage) -> bool:
        """Whether this rule applies to `msg`."""
        return self._tree is None or self._tree.matches(msg)


class RouteTable(RootModel[tuple[Route, ...]]):
    """The ordered rule list. `select` returns the routes a message goes to."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        counts = Counter(r.name for r in self.root)
        dupes = sorted(name for name, n in counts.items() if n > 1)
        if dupes:
            raise ValueError(f"route names must be unique; repeated: {', '.join(dupes)}")
        return self

    @classmethod
    def from_list(cls, rules: list[dict[str, Any]] | None) -> RouteTable:
        """Validate the raw `routes:` list from YAML (None, i.e. an empty key, means no routes)."""
        return cls.model_validate(rules or [])

    # BaseModel iterates (field, value) pairs; a list root iterates its items, as pydantic's docs do.
    def __iter__(self) -> Iterator[Route]:  # type: ignore[override]
        return iter(self.root)

    def __len__(self) -> int:
        return len(self.root)

    def select(self, msg: RoutableMessage) -> list[Route]:
        """Matched routes in order; stops after the first match without `continue`.

        An empty list means the message is unrouted (the caller stores and marks it).
        """
        selected: list[Route] = []
        for route in self.root:
            if route.matches(msg):
                selected.append(route)
                if not route.continue_:
                    break
        return selected

    def shadowed(self) -> list[str]:
        """Names of routes that can never match: those after a catch-all without `continue`.

        Not a validation error (a temporary catch-all at the top is a legitimate debugging
        move), but worth a warning from `mailhook check`.
        """
        for index, route in enumerate(self.root):
            if route.is_catch_all and not route.continue_:
                return [r.name for r in self.root[index + 1 :]]
        return []
