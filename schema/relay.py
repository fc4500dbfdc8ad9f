"""Relay plumbing: global ids, cursors, connections with totalCount and keyset paging."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

import strawberry
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from models.db.replica import lagging_connection
from models.db.row_query import Params, RowSelect
from models.errors import DomainError
from models.rules.date_range import in_range

NodeT = TypeVar("NodeT")
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


def to_global_id(type_name: str, pk: int) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode())


def from_global_id(gid: str, expected: str | None = None) -> tuple[str, int]:
    """Decode a global id; a malformed one or one of another type is NOT_FOUND."""
    try:
        type_name, _, raw = base64.urlsafe_b64decode(gid.encode()).decode().partition(":")
        pk = int(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise DomainError("NOT_FOUND", "id") from None
    # Ids beyond a 32-bit key cannot exist, and databases refuse to compare with them.
    if (expected is not None and type_name != expected) or not 0 < pk < 2**31:
        raise DomainError("NOT_FOUND", "id")
    return type_name, pk


def global_ids_in(data: dict[str, Any], kinds: dict[str, str]) -> dict[str, Any]:
    """`data` (a timeline event's details) with the row ids under the keys of `kinds` (an id or
    a list of ids) as global ids of the type each key names: the API speaks global ids only.
    Events keep row ids in the database, so rows written before this read the same."""
    out = dict(data)
    for key, type_name in kinds.items():
        value = out.get(key)
        if isinstance(value, list):
            out[key] = [_global_or_same(type_name, v) for v in value]
        elif value is not None:
            out[key] = _global_or_same(type_name, value)
    return out


def _global_or_same(type_name: str, value: Any) -> Any:
    is_id = isinstance(value, int) and not isinstance(value, bool)
    return to_global_id(type_name, value) if is_id else value


def pk_of(gid: strawberry.ID | None, expected: str) -> int | None:
    return None if gid is None else from_global_id(gid, expected)[1]


@strawberry.interface(description="An object with a global id, fetchable by `node(id:)`.")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    # The cursor's values (the row's order columns), encoded only when asked: lists mostly ask
    # for the page's end cursor alone.
    key: strawberry.Private[Sequence[Any]]
    node: NodeT

    @strawberry.field
    def cursor(self) -> str:
        return encode_cursor(self.key)


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many objects match the filter, across all pages.")
    async def total_count(self) -> int:
        return await self._count()


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps(list(values), ensure_ascii=False, default=str)  # dates as ISO strings
    return base64.urlsafe_b64encode(raw.encode()).decode()


# A cursor holds a row's order columns: a name of at most 200 characters and an id, JSON-
# escaped (up to 6 bytes a character) and base64-encoded, stays well below this.
MAX_CURSOR_LENGTH = 4096


def decode_cursor(cursor: str, width: int, field: str = "after") -> list[Any]:
    """The cursor's JSON list of `width` values, or INVALID_CURSOR on `field` (tampered: too
    long, not base64, not JSON, nested past the parser's recursion, another shape)."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise DomainError("INVALID_CURSOR", field)
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error, RecursionError):
        raise DomainError("INVALID_CURSOR", field) from None
    if not isinstance(values, list) or len(values) != width:
        raise DomainError("INVALID_CURSOR", field)
    return values


def cursor_values(
    cursor: str,
    names: Sequence[str],
    cursor_types: dict[str, Callable[[Any], Any]] | None,
    field: str = "after",
) -> list[Any]:
    """A cursor's values for the order columns `names`, each of its column's kind, or
    INVALID_CURSOR on `field` (the argument it came in, `after` or `before`): a database
    compares a column only with a value of its type (PostgreSQL refuses others; SQLite cannot
    bind a list). `cursor_types` parses a column's JSON value (raising TypeError or
    ValueError; dates and date-times must be within the supported range and carry their
    offset); ids ("id", "…_id") are 32-bit keys; any other column is text."""
    values = decode_cursor(cursor, len(names), field)
    for i, name in enumerate(names):
        parse = (cursor_types or {}).get(name)
        try:
            values[i] = _cursor_value(name, values[i], parse)
        except (TypeError, ValueError, OverflowError):
            raise DomainError("INVALID_CURSOR", field) from None
    return values


def _cursor_value(name: str, value: Any, parse: Callable[[Any], Any] | None) -> Any:
    if parse is not None:
        parsed = parse(value)
        if isinstance(parsed, datetime) and parsed.tzinfo is None:
            raise ValueError(name)  # the cursors given out carry the row's offset
        if isinstance(parsed, date) and not in_range(parsed):
            raise ValueError(name)
        return parsed
    if name == "id" or name.endswith("_id"):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
            raise ValueError(name)
        return value
    if not isinstance(value, str):
        raise TypeError(name)
    return value


def _after_q(order: Sequence[str], values: Sequence[Any]) -> Q:
    """Rows strictly after `values` in (order...) order, "-name" descending: a keyset condition."""
    terms = []
    names = [o.lstrip("-") for o in order]
    for i, o in enumerate(order):
        op = "lt" if o.startswith("-") else "gt"
        term = Q(**{f"{names[i]}__{op}": values[i]})
        for j in range(i):
            term &= Q(**{names[j]: values[j]})
        terms.append(term)
    return Q(*terms, join_type=Q.OR)


@dataclass(frozen=True, slots=True)
class Page:
    """Which page a list is asked for, as Relay's connection arguments say: `first` rows
    after the cursor `after` (forward, the default), or the `last` rows before the cursor
    `before` (backward: a screen scrolling up from the top row it shows). `after` and
    `before` may be given together: the rows between them."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    @property
    def backward(self) -> bool:
        return self.last is not None

    def size(self) -> int:
        """The page size asked for (DEFAULT_PAGE_SIZE when none), or a refusal:
        INVALID_PAGE_SIZE out of 0..MAX_PAGE_SIZE, PAGE_DIRECTION_CONFLICT for `first` with
        `last` (Relay leaves their meaning together open: one direction a request)."""
        if self.first is not None and self.last is not None:
            raise DomainError("PAGE_DIRECTION_CONFLICT", "last")
        if self.last is not None:
            return _checked_size(self.last, "last")
        return page_size(self.first)


def _checked_size(size: int, field: str) -> int:
    if not 0 <= size <= MAX_PAGE_SIZE:
        raise DomainError("INVALID_PAGE_SIZE", field, max=MAX_PAGE_SIZE)
    return size


def _reversed(order: Sequence[str]) -> list[str]:
    """The opposite order: "-name" ascending, "name" descending."""
    return [o[1:] if o.startswith("-") else f"-{o}" for o in order]


async def paginate(
    qs: QuerySet[Any],
    *,
    first: int | None,
    after: str | None,
    order: Sequence[str],
    columns: Sequence[str],
    build: Callable[[dict[str, Any]], NodeT],
    prepare: Callable[[list[dict[str, Any]]], Awaitable[None]] | None = None,
    cursor_types: dict[str, Callable[[Any], Any]] | None = None,
    last: int | None = None,
    before: str | None = None,
    may_lag: bool = False,
) -> Connection[NodeT]:
    """One page of plain rows in a stable keyset order; totalCount only when asked for.
    `prepare` sees the page's rows before nodes are built (to batch what they share);
    `cursor_types` turns a cursor's JSON values back into column values (dates). Backward
    (`last`, `before`: Page) walks the order reversed and gives the rows back in `order`.
    `may_lag`: the page and its count may come from the read replica (models.db.replica)."""
    page = Page(first, after, last, before)
    size = page.size()
    replica = lagging_connection() if may_lag else None
    if replica is not None:
        qs = qs.using_db(replica)
    count_qs = qs
    names = [o.lstrip("-") for o in order]
    if after:
        qs = qs.filter(_after_q(order, cursor_values(after, names, cursor_types)))
    if before:
        values = cursor_values(before, names, cursor_types, "before")
        qs = qs.filter(_after_q(_reversed(order), values))
    walk = _reversed(order) if page.backward else order
    rows = await qs.order_by(*walk).limit(size + 1).values(*columns)
    return await _connection(rows, size, names, page, build, prepare, count_qs.count)


def page_size(first: int | None) -> int:
    """The page size asked for (DEFAULT_PAGE_SIZE when none), or INVALID_PAGE_SIZE."""
    return _checked_size(DEFAULT_PAGE_SIZE if first is None else first, "first")


async def _connection(
    rows: list[dict[str, Any]],
    size: int,
    names: Sequence[str],
    page: Page,
    build: Callable[[dict[str, Any]], NodeT],
    prepare: Callable[[list[dict[str, Any]]], Awaitable[None]] | None,
    count: Callable[[], Awaitable[int]],
) -> Connection[NodeT]:
    more = len(rows) > size  # one row past the page was read to know
    rows = rows[:size]
    if page.backward:
        rows.reverse()  # read walking back from `before`: the page in the list's order
    if prepare is not None:
        await prepare(rows)
    edges = [Edge(key=[r[n] for n in names], node=build(r)) for r in rows]
    # As Relay's algorithm: the far side of the page is known from the extra row; the near
    # side is only said to exist when a cursor was given there.
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=bool(page.before) if page.backward else more,
            has_previous_page=more if page.backward else bool(page.after),
            start_cursor=encode_cursor(edges[0].key) if edges else None,
            end_cursor=encode_cursor(edges[-1].key) if edges else None,
        ),
        _count=count,
    )


def _after_sql(sel: RowSelect, p: Params, order: Sequence[str], values: Sequence[Any]) -> str:
    """`_after_q` in SQL: rows strictly after `values` in (order...) order."""
    terms = []
    names = [o.lstrip("-") for o in order]
    for i, o in enumerate(order):
        op = "<" if o.startswith("-") else ">"
        same = [f"{sel.own(names[j])} = {_param(p, values[j])}" for j in range(i)]
        terms.append(" AND ".join([*same, f"{sel.own(names[i])} {op} {_param(p, values[i])}"]))
    return "(" + " OR ".join(f"({t})" for t in terms) + ")"


def _param(p: Params, value: Any) -> str:
    return p.day(value) if isinstance(value, date) else p(value)


async def paginate_rows(
    sel: RowSelect,
    where: str,
    p: Params,
    *,
    first: int | None,
    after: str | None,
    order: Sequence[str],
    build: Callable[[dict[str, Any]], NodeT],
    prepare: Callable[[list[dict[str, Any]]], Awaitable[None]] | None = None,
    cursor_types: dict[str, Callable[[Any], Any]] | None = None,
    branches: Sequence[str] = (),
    generic: bool = False,
    last: int | None = None,
    before: str | None = None,
    may_lag: bool = False,
) -> Connection[NodeT]:
    """`paginate` over a written-out statement (models.db.row_query): the rows of `sel` matching
    `where` (with parameters `p`; over the table's own columns) and one of `branches` if
    given, keyset-paged in `order`, forward or backward as `paginate`; `generic` as
    RowSelect.fetch says; `may_lag` as `paginate`."""
    page = Page(first, after, last, before)
    replica = lagging_connection() if may_lag else None
    size = page.size()
    names = [o.lstrip("-") for o in order]
    count_params = list(p.values)  # the keyset conditions and the limit come after
    page_where = where
    if after:
        values = cursor_values(after, names, cursor_types)
        page_where = f"{page_where} AND {_after_sql(sel, p, order, values)}"
    if before:
        values = cursor_values(before, names, cursor_types, "before")
        page_where = f"{page_where} AND {_after_sql(sel, p, _reversed(order), values)}"
    walk = _reversed(order) if page.backward else order
    by = ", ".join(f"{sel.own(o.lstrip('-'))}{' DESC' if o.startswith('-') else ''}" for o in walk)
    rows = await sel.fetch(
        page_where, p, by, p(size + 1), replica, branches=branches, generic=generic
    )
    if branches:
        where = f"{where} AND {sel.any_of(branches)}"
    return await _connection(
        rows, size, names, page, build, prepare, lambda: sel.count(where, count_params, replica)
    )


def id_of(gid: strawberry.ID, expected: str) -> int:
    return from_global_id(gid, expected)[1]
