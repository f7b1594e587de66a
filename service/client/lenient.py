"""Lenient readers of JSON values, shared by the models: a missing or odd optional value is None or
empty, and :class:`Record` reads a whole object by its fields' types."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self, get_type_hints


def text(value: Any) -> str | None:
    return None if value is None else str(value)


def moment(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def strings(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def number(value: Any) -> int | None:
    return None if value is None else int(value)


def required(value: Any) -> Any:
    if value is None:
        raise KeyError("a required key is missing")
    return value


#: How :class:`Record` reads a field of each type from the JSON key of the field's name.
READERS: dict[object, Callable[[Any], Any]] = {
    str: lambda value: str(required(value)),
    int: lambda value: int(required(value)),
    str | None: text,
    int | None: number,
    datetime | None: moment,
}


@dataclass(frozen=True, kw_only=True)
class Record:
    """A JSON object read field by field, each by its type (see ``READERS``); unknown keys are
    ignored. ``data`` is the object as received."""

    data: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        read = {name: READERS[kind] for name, kind in get_type_hints(cls).items() if name != "data"}
        return cls(**{name: reader(data.get(name)) for name, reader in read.items()}, data=data)
