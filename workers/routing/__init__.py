"""Routing: decide which pipeline(s) an inbound message goes to, from `routes:` rules."""

from service.mail.recipients import plus_tag
from workers.routing.conditions import CompiledRegex, Condition, Ops
from workers.routing.rules import AddyCondition, Route, RouteTable
from workers.routing.view import MAX_SCAN_CHARS, FieldExtractor, RoutableMessage

__all__ = [
    "MAX_SCAN_CHARS",
    "AddyCondition",
    "CompiledRegex",
    "Condition",
    "FieldExtractor",
    "Ops",
    "RoutableMessage",
    "Route",
    "RouteTable",
    "plus_tag",
]
