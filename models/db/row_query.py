"""Plain-row reads with their SQL written once: the text tortoise's `.values()` would build for
a model and a list of columns (to-one relations as LEFT JOINs, `relation__column` aliases), and
the same value conversions it applies, without building a query object per request.

Building a wide `.values()` query through tortoise and pypika cost more Python than running it
(1.7 ms of 2.4 ms for the demand detail's row); here the SELECT and its joins are built once
per (model, columns), and each read only writes its WHERE clause with placeholders.

A detail screen's lists (a demand's timeline and files) can come in the same statement as the
row, one JSON array per list (`Nested`): each statement sent cost a worker more Python (tortoise,
asyncpg, the pool) than those lists cost the database."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from operator import itemgetter
from typing import Any

import orjson
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields import (
    BigIntField,
    CharField,
    DatetimeField,
    IntField,
    SmallIntField,
    TextField,
)
from tortoise.models import Model

from models.db.screen import screen_connection

Row = dict[str, Any]


@dataclass
class Params:
    """Placeholders in the connection's style, numbered so a clause may be written in any
    order and reused ($n on PostgreSQL, ?n on SQLite)."""

    postgres: bool
    values: list[Any] = field(default_factory=list)

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        n = len(self.values)
        return f"${n}" if self.postgres else f"?{n}"

    def many(self, values: Sequence[Any]) -> str:
        """`IN (…)` contents: a list of placeholders, or NULL for none (matches nothing)."""
        return ", ".join(self(v) for v in values) or "NULL"

    def moment(self, value: datetime) -> str:
        """A moment (on SQLite bound as UTC text, as stored: models.db.sqlite_counted)."""
        return self(value)

    def day(self, value: date) -> str:
        return self(value if self.postgres else value.isoformat())

    def like(self, term: str) -> str:
        """`LIKE … ESCAPE` matching `term` anywhere, its % and _ taken literally, lower-cased
        by the database as the column it is compared with (SQLite folds ASCII only)."""
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"LOWER({self('%' + escaped + '%')}) ESCAPE '\\'"


def connection() -> BaseDBAsyncClient:
    """The default connection, or the current transaction's."""
    return connections.get("default")


def is_postgres(conn: BaseDBAsyncClient | None = None) -> bool:
    return (conn or connection()).capabilities.dialect == "postgres"


def quote(name: str) -> str:
    return f'"{name}"'


@dataclass(frozen=True)
class Nested:
    """The rows of another table that point at each selected row (`link`: their column holding
    its primary key), `columns` named as in `.values()` (to-one relations joined): read in the
    same statement as the row, as a JSON array under `key`, converted as `.values()` converts,
    lowest `id` first."""

    key: str
    model: type[Model]
    link: str
    columns: tuple[str, ...]


# Field types whose values JSON carries unchanged; the others go through to_python_value.
_JSON_EXACT = (IntField, BigIntField, SmallIntField, CharField, TextField)
_BY_ID = itemgetter("id")


class RowSelect:
    """`SELECT <columns> FROM (<the matching rows of table>) t0 LEFT JOIN …` for `model` and
    `columns` named as in `.values()`, with the `nested` lists of each row.

    The rows are chosen (filtered, ordered, limited) in a subquery over the table alone, and the
    to-one relations joined onto those few: planning the demand list as one flat statement of
    eight joined tables took PostgreSQL 15 ms (30-40 ms under load) on every execution, the
    subquery form 1.8 ms, and it runs no slower. So WHERE and ORDER BY refer to the table's own
    columns (alias t0) only. `prefix` names the aliases (t0, t1…; a nested list's n0, n1…, so
    that its subquery still sees the row's t0)."""

    def __init__(
        self,
        model: type[Model],
        columns: Sequence[str],
        nested: Sequence[Nested] = (),
        prefix: str = "t",
    ) -> None:
        self.model = model
        self.columns = tuple(columns)
        self.nested = tuple(nested)
        self._prefix = prefix
        self._root = f"{prefix}0"
        self.table = f"{quote(model._meta.db_table)} {self._root}"
        self._aliases: dict[str, str] = {"": self._root}
        self._joins: list[str] = []
        self._exprs: dict[str, str] = {}
        self._select = ""
        self._lists: dict[str, str] = {}  # per dialect: the nested lists' select items
        self._converters: dict[str, list[tuple[str, Callable[[Any], Any]]]] = {}
        self._list_converters: list[tuple[str, list[tuple[str, Callable[[Any], Any]]]]] = []

    def _built(self) -> tuple[str, str]:
        """The select list and the joins, built on first use: the models' relations are known
        once tortoise is set up."""
        if not self._select:
            self._exprs = {c: self._expr(c) for c in self.columns}
            self._select = ", ".join(f"{e} AS {quote(c)}" for c, e in self._exprs.items())
        return self._select, " ".join(self._joins)

    def _nested_lists(self, dialect: str) -> str:
        """`, (SELECT <a JSON array of objects> FROM … WHERE n0.link = t0.pk) AS "key"` per
        nested list, in the dialect's JSON functions."""
        found = self._lists.get(dialect)
        if found is None:
            items = []
            for n in self.nested:
                if len(n.columns) > 50 or "id" not in n.columns:  # json_build_object: 100 args
                    raise ValueError(f"{n.key}: up to 50 columns, `id` among them")
                inner = RowSelect(n.model, n.columns, prefix="n")
                _, joins = inner._built()
                pairs = ", ".join(f"'{c}', {e}" for c, e in inner._exprs.items())
                where = f"{inner.own(n.link)} = {self.own(self.model._meta.pk_attr)}"
                if dialect == "postgres":  # json_agg of no rows is NULL
                    array = f"COALESCE(json_agg(json_build_object({pairs})), '[]')"
                else:
                    array = f"json_group_array(json_object({pairs}))"
                source = f"{inner.table} {joins}" if joins else inner.table
                items.append(
                    f", (SELECT {array} FROM {source} WHERE {where}) AS {quote(n.key)}"  # noqa: S608
                )
            found = self._lists[dialect] = "".join(items)
        return found

    def _join(self, path: str, model: type[Model]) -> tuple[str, type[Model]]:
        """The alias of the relation at `path` ("enterprise", "last_event__actor"), joined
        once; returns it with the related model."""
        parent_path, _, name = path.rpartition("__")
        parent_alias = self._aliases[parent_path]
        fk: Any = model._meta.fields_map[name]
        related: type[Model] = fk.related_model
        if path not in self._aliases:
            alias = f"{self._prefix}{len(self._aliases)}"
            self._aliases[path] = alias
            target = related._meta.fields_db_projection[fk.to_field]
            self._joins.append(
                f"LEFT JOIN {quote(related._meta.db_table)} {alias} "
                f"ON {alias}.{quote(target)} = {parent_alias}.{quote(fk.source_field)}"
            )
        return self._aliases[path], related

    def _expr(self, column: str) -> str:
        *relations, name = column.split("__")
        model, path, alias = self.model, "", self._root
        for rel in relations:
            path = f"{path}__{rel}" if path else rel
            alias, model = self._join(path, model)
        return f"{alias}.{quote(model._meta.fields_db_projection[name])}"

    def own(self, name: str) -> str:
        """A column of the table itself, for WHERE and ORDER BY."""
        return f"{self._root}.{quote(self.model._meta.fields_db_projection[name])}"

    async def count(
        self, where: str, values: list[Any], conn: BaseDBAsyncClient | None = None
    ) -> int:
        sql = f"SELECT COUNT(*) AS n FROM {self.table} WHERE {where}"  # noqa: S608
        found = await (conn or connection()).execute_query_dict(sql, values)
        return int(found[0]["n"])

    @staticmethod
    def any_of(branches: Sequence[str]) -> str:
        """The branches as one condition: a row meets at least one."""
        return "(" + " OR ".join(f"({b})" for b in branches) + ")"

    def _merged(self, where: str, branches: Sequence[str], order: str, limit: str) -> str:
        parts = []
        for i, branch in enumerate(branches):
            # Disjoint, so a row meeting two branches comes once.
            earlier = "".join(f" AND NOT COALESCE(({b}), FALSE)" for b in branches[:i])
            parts.append(
                f"SELECT * FROM (SELECT * FROM {self.table} WHERE {where} AND ({branch})"  # noqa: S608
                f"{earlier} ORDER BY {order} LIMIT {limit}) b{i}"
            )
        union = " UNION ALL ".join(parts)
        return f"SELECT * FROM ({union}) t0 ORDER BY {order} LIMIT {limit}"  # noqa: S608

    def converters(self, dialect: str) -> list[tuple[str, Callable[[Any], Any]]]:
        """Per column, tortoise's conversion of a raw value (none for what the driver already
        returns as Python values), as `.values()` applies it; which fields are native depends
        on the database tortoise was set up with."""
        found = self._converters.get(dialect)
        if found is None:
            pairs = ((c, _converter(self.model, c)) for c in self.columns)
            found = self._converters[dialect] = [(c, f) for c, f in pairs if f is not None]
        return found

    async def fetch(
        self,
        where: str,
        params: Params,
        order: str = "",
        limit: str = "",
        conn: BaseDBAsyncClient | None = None,
        branches: Sequence[str] = (),
        generic: bool = False,
    ) -> list[Row]:
        """The rows matching `where`, in `order` (both over t0), at most `limit` (a
        placeholder), converted. `branches`: conditions of which a row meets at least one,
        each picked on its own (ordered and limited, so each can walk its own index in
        `order`) and merged; the planner cannot do that with their OR. `generic`: a
        statement whose values are all keys, which a generic plan serves as well as a custom
        one, planned once per pooled connection (models.db.screen)."""
        conn = conn or (screen_connection() if generic else connection())
        dialect = conn.capabilities.dialect
        select, joins = self._built()
        if self.nested:
            select += self._nested_lists(dialect)
        if branches and order and limit:
            chosen = self._merged(where, branches, order, limit)
        else:
            if branches:
                where = f"{where} AND {self.any_of(branches)}"
            chosen = f"SELECT * FROM {self.table} WHERE {where}"  # noqa: S608 - model names
            if order:
                chosen += f" ORDER BY {order}"
            if limit:
                chosen += f" LIMIT {limit}"
        if joins:
            sql = f"SELECT {select} FROM ({chosen}) t0 {joins}"  # noqa: S608
            if order:
                sql += f" ORDER BY {order}"
        else:
            sql = chosen.replace("SELECT *", f"SELECT {select}", 1)
        rows = list(await conn.execute_query_dict(sql, params.values))
        convert = self.converters(dialect)
        if convert:
            for row in rows:
                for c, f in convert:
                    row[c] = f(row[c])
        if self.nested:
            self._convert_lists(rows)
        return rows

    def _convert_lists(self, rows: list[Row]) -> None:
        """The nested lists as `.values()` would give their rows: JSON carries datetimes as
        text (PostgreSQL in the session's time zone), SQLite's booleans as numbers and its JSON
        columns as text, and no order."""
        if not self._list_converters:
            self._list_converters = [
                (n.key, [(c, f) for c in n.columns if (f := _json_converter(n.model, c))])
                for n in self.nested
            ]
        for row in rows:
            for key, convert in self._list_converters:
                raw = row[key]
                items: list[Row] = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
                for item in items:
                    for c, f in convert:
                        item[c] = f(item[c])
                items.sort(key=_BY_ID)
                row[key] = items


def _converter(model: type[Model], column: str) -> Callable[[Any], Any] | None:
    """tortoise's FieldSelectQuery.resolve_to_python_value, minus the identity functions."""
    meta = model._meta
    if column in (key for key, _, _ in meta.db_native_fields):
        return None
    if column in meta.fields_map:
        convert: Callable[[Any], Any] = meta.fields_map[column].to_python_value
        return convert
    rel, _, rest = column.partition("__")
    related: type[Model] = meta.fields_map[rel].related_model  # type: ignore[attr-defined]
    return _converter(related, rest)


def _json_converter(model: type[Model], column: str) -> Callable[[Any], Any] | None:
    """tortoise's conversion of a value read back from JSON, unless JSON carried it as is."""
    rel, _, rest = column.partition("__")
    if rest:
        related: type[Model] = model._meta.fields_map[rel].related_model  # type: ignore[attr-defined]
        return _json_converter(related, rest)
    f = model._meta.fields_map[column]
    if type(f) in _JSON_EXACT:
        return None
    convert: Callable[[Any], Any] = f.to_python_value
    if isinstance(f, DatetimeField):
        # Parsed by Python (0.1 µs) rather than tortoise's iso8601 (6 µs), then made UTC.
        return lambda v: None if v is None else convert(datetime.fromisoformat(v))
    return convert


@cache
def row_select(
    model: type[Model], columns: tuple[str, ...], nested: tuple[Nested, ...] = ()
) -> RowSelect:
    return RowSelect(model, columns, nested)
