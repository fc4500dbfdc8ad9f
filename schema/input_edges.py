"""The API's edge for what a client writes into arguments: dates within the supported range
(models.rules.date_range) and search or filter text of a bounded length, checked in one place
for every root field, and numbers graphql-core would choke on refused as the client's fault.

`guard_inputs` gives each root field whose arguments hold a Date or DateTime (at any depth of
its input objects and lists), or, on queries, a String, the `InputEdges` field extension. A
refusal names the input field at fault (its GraphQL name, the path inside an input object
without the argument's name, as the domain's refusals do: "to", "startDate",
"checkIn.deviceTime", "holidays.0.date"):
- a mutation whose payload has `errors` returns that payload with the refusal in it;
- any other field raises a PublicError: `errors[].extensions.code` (and `field`).

Texts in mutations are not capped here: each operation bounds its own (TOO_LONG).
Cursors (`after`, `before`) are checked by schema.relay."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from graphql import (
    FloatValueNode,
    GraphQLError,
    GraphQLInt,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    ValueNode,
    value_from_ast_untyped,
)
from graphql.type.scalars import parse_int_literal
from strawberry.extensions import FieldExtension
from strawberry.scalars import JSON
from strawberry.schema.name_converter import NameConverter
from strawberry.schema.types.scalar import DEFAULT_SCALAR_REGISTRY
from strawberry.types import Info
from strawberry.types.base import (
    StrawberryContainer,
    StrawberryList,
    get_object_definition,
    has_object_definition,
)
from strawberry.types.field import StrawberryField
from strawberry.types.scalar import ScalarDefinition

from models.errors import Problem
from models.messages import message
from models.rules.date_range import in_range, range_params
from schema.errors import PublicError, UserError

_NAMES = NameConverter()
_CURSOR_ARGUMENTS = frozenset({"after", "before"})
# Search and filter text on queries: the longest name a list is searched by (an enterprise's,
# 200), far below SQLite's LIKE pattern limit (50,000 bytes), which a 900 KB term passed.
MAX_SEARCH_LENGTH = 200


# --- what to check in one value, planned once per field from its argument types -------------


@dataclasses.dataclass(frozen=True)
class _Plan:
    kind: str  # "date", "text", "object" or "list"
    fields: tuple[tuple[str, str, _Plan], ...] = ()  # object: (python name, GraphQL name, plan)
    item: _Plan | None = None  # list: each item's plan


def _plan(type_: Any, texts: bool, seen: frozenset[type] = frozenset()) -> _Plan | None:
    """What must be checked in a value of this strawberry type; None: nothing."""
    while isinstance(type_, StrawberryContainer) and not _is_list(type_):
        type_ = type_.of_type  # Optional
    if _is_list(type_):
        item = _plan(type_.of_type, texts, seen)
        return None if item is None else _Plan("list", item=item)
    if type_ is date or type_ is datetime:
        return _Plan("date")
    if type_ is str:  # not ID (a NewType), not enums
        return _Plan("text") if texts else None
    if isinstance(type_, type) and has_object_definition(type_) and type_ not in seen:
        definition = get_object_definition(type_, strict=True)
        if not definition.is_input:
            return None
        fields = []
        for f in definition.fields:
            inner = _plan(f.type, texts, seen | {type_})
            if inner is not None:
                fields.append((f.python_name, _NAMES.get_graphql_name(f), inner))
        return _Plan("object", fields=tuple(fields)) if fields else None
    return None


def _is_list(type_: Any) -> bool:
    return isinstance(type_, StrawberryList)


def _problems(value: Any, plan: _Plan, path: str, out: list[Problem]) -> None:
    if value is None:
        return
    if plan.kind == "date":
        if isinstance(value, date) and not in_range(value):
            out.append(Problem("DATE_OUT_OF_RANGE", path or None, range_params()))
    elif plan.kind == "text":
        if isinstance(value, str) and len(value) > MAX_SEARCH_LENGTH:
            out.append(Problem("SEARCH_TOO_LONG", path or None, {"max": MAX_SEARCH_LENGTH}))
    elif plan.kind == "list" and plan.item is not None:
        for i, item in enumerate(value):
            _problems(item, plan.item, f"{path}.{i}" if path else str(i), out)
    elif plan.kind == "object":
        for python_name, graphql_name, inner in plan.fields:
            inner_path = f"{path}.{graphql_name}" if path else graphql_name
            _problems(getattr(value, python_name, None), inner, inner_path, out)


# --- the field extension ----------------------------------------------------------------------


class InputEdges(FieldExtension):
    """Refuses a root field's arguments that lie past the API's edges (module docstring)."""

    def __init__(self, arguments: tuple[tuple[str, str, _Plan], ...], payload: Any) -> None:
        self.arguments = arguments
        # The mutation payload class a refusal is returned in; None: raise instead.
        self.payload = payload

    def problems(self, kwargs: dict[str, Any]) -> list[Problem]:
        out: list[Problem] = []
        for python_name, graphql_name, plan in self.arguments:
            # Inside an input object, paths start at its fields (the domain's convention).
            path = "" if plan.kind == "object" else graphql_name
            _problems(kwargs.get(python_name), plan, path, out)
        return out

    def _refusal(self, info: Info, problems: list[Problem]) -> Any:
        locale = info.context.locale
        if self.payload is None:
            p = problems[0]
            raise PublicError(p.code, locale, field=p.field, **p.params)
        errors = [
            UserError(code=p.code, field=p.field, message=message(p.code, locale, **p.params))
            for p in problems
        ]
        return self.payload(errors)

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        problems = self.problems(kwargs)
        if problems:
            return self._refusal(info, problems)
        return next_(source, info, **kwargs)

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        problems = self.problems(kwargs)
        if problems:
            return self._refusal(info, problems)
        return await next_(source, info, **kwargs)


def _payload_maker(type_: Any) -> Callable[[list[UserError]], Any] | None:
    """A maker of the payload `type_` holding only `errors`, if it is such a payload."""
    if not (isinstance(type_, type) and dataclasses.is_dataclass(type_)):
        return None
    names = [f.name for f in dataclasses.fields(type_) if f.init]
    if "errors" not in names:
        return None
    make: Callable[..., Any] = type_
    others = {n: None for n in names if n != "errors"}
    return lambda errors: make(**others, errors=errors)


def guard_inputs(*roots: type) -> None:
    """Give the root fields of these types (Query, Mutation, Subscription) their InputEdges.
    Idempotent: build_schema may run more than once in a process."""
    for root in roots:
        definition = get_object_definition(root, strict=True)
        texts = definition.name == "Query"
        for field in definition.fields:
            _guard(field, texts=texts, mutation=definition.name == "Mutation")


def _guard(field: StrawberryField, *, texts: bool, mutation: bool) -> None:
    if any(isinstance(e, InputEdges) for e in field.extensions):
        return
    arguments = []
    for argument in field.arguments:
        name = _NAMES.get_graphql_name(argument)
        plan = _plan(argument.type, texts and name not in _CURSOR_ARGUMENTS)
        if plan is not None:
            arguments.append((argument.python_name, name, plan))
    if arguments:
        payload = _payload_maker(field.type) if mutation else None
        field.extensions.append(InputEdges(tuple(arguments), payload))


# --- numbers that graphql-core would turn into a server fault ---------------------------------

# An Int literal past 11 characters ("-2147483648") cannot be a 32-bit Int; checked before
# int() runs, which raises ValueError past 4,300 digits (Python's conversion limit), an error
# graphql-core reports as the server's (INTERNAL_ERROR), not as the document's.
_MAX_INT_LITERAL = 11
# JSON values are answered by orjson, which holds integers to 64 bits.
_JSON_INT_RANGE = (-(2**63), 2**63 - 1)


def _int_literal(node: ValueNode, variables: Any = None) -> Any:
    if isinstance(node, IntValueNode) and len(node.value) > _MAX_INT_LITERAL:
        raise GraphQLError(
            f"Int cannot represent non 32-bit signed integer value: {node.value[:12]}…", node
        )
    return parse_int_literal(node, variables)


def _json_literal(node: ValueNode, variables: Any = None) -> Any:
    """A JSON literal as graphql-core reads it, its numbers first held to what can be
    converted and answered (64-bit integers, finite floats)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, IntValueNode):
            if len(n.value) > 20 or not _JSON_INT_RANGE[0] <= int(n.value) <= _JSON_INT_RANGE[1]:
                raise GraphQLError("JSON integers must fit in 64 bits", n)
        elif isinstance(n, FloatValueNode):
            if float(n.value) in (float("inf"), float("-inf")):
                raise GraphQLError("JSON numbers must be finite", n)
        elif isinstance(n, ListValueNode):
            stack.extend(n.values)
        elif isinstance(n, ObjectValueNode):
            stack.extend(f.value for f in n.fields)
    return value_from_ast_untyped(node, variables)


# graphql-core's one Int type serves every schema of the process (there is no per-schema
# override for built-in scalars): its literal parser is replaced once, here.
GraphQLInt.coerce_input_literal = _int_literal

_json = DEFAULT_SCALAR_REGISTRY[JSON]
assert isinstance(_json, ScalarDefinition)
# The JSON scalar with the literal parser above; build_schema passes it as an override.
JSON_SCALAR = dataclasses.replace(_json, parse_literal=_json_literal)


def text_equal(qs: Any, column: str, value: str) -> Any:
    """`qs` narrowed to rows whose text `column` equals `value`. A value longer than the
    column holds matches no row, and tortoise would refuse to compare it (ValidationError, a
    server fault): it narrows to nothing instead (ids are positive)."""
    max_length = qs.model._meta.fields_map[column].max_length
    if max_length is not None and len(value) > max_length:
        return qs.filter(id=0)
    return qs.filter(**{column: value})
