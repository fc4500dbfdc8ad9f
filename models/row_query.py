"""Plain-row reads with their SQL written once: the text tortoise's `.values()` would build for
a model and a list of columns (to-one relations as LEFT JOINs, `relation__column` aliases), and
the same value conversions it applies, without building a query object per request.

Building a wide `.values()` query through tortoise and pypika cost more Python than running it
(1.7 ms of 2.4 ms for the demand detail's row); here the SELECT and its joins are built once
per (model, columns), and each read only writes its WHERE clause with placeholders."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

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
        """A moment comparable with stored ones: on SQLite the UTC text tortoise writes."""
        return self(value if self.postgres else value.astimezone(UTC).isoformat(" "))

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


class RowSelect:
    """`SELECT <columns> FROM <table> t0 LEFT JOIN …` for `model` and `columns` named as in
    `.values()`; `col(name)` is a column's SQL expression, for WHERE and ORDER BY."""

    def __init__(self, model: type[Model], columns: Sequence[str]) -> None:
        self.model = model
        self.columns = tuple(columns)
        self.table = f"{quote(model._meta.db_table)} t0"
        self._aliases: dict[str, str] = {"": "t0"}
        self._joins: list[tuple[str, str, str]] = []  # (alias, parent's alias, JOIN …)
        self._exprs: dict[str, str] = {}
        self._text = ""
        self._converters: dict[str, list[tuple[str, Callable[[Any], Any]]]] = {}

    @property
    def text(self) -> str:
        """Built on first use: the models' relations are known once tortoise is set up."""
        if not self._text:
            self._exprs = {c: self._expr(c) for c in self.columns}
            select = ", ".join(f"{e} AS {quote(c)}" for c, e in self._exprs.items())
            # Names come from the models, never from a request.
            self._text = f"SELECT {select} FROM {self.table} {self._join_text(None)}".rstrip()  # noqa: S608
        return self._text

    def _join(self, path: str, model: type[Model]) -> tuple[str, type[Model]]:
        """The alias of the relation at `path` ("enterprise", "last_event__actor"), joined
        once; returns it with the related model."""
        parent_path, _, name = path.rpartition("__")
        parent_alias = self._aliases[parent_path]
        fk: Any = model._meta.fields_map[name]
        related: type[Model] = fk.related_model
        if path not in self._aliases:
            alias = f"t{len(self._aliases)}"
            self._aliases[path] = alias
            target = related._meta.fields_db_projection[fk.to_field]
            self._joins.append(
                (
                    alias,
                    parent_alias,
                    f"LEFT JOIN {quote(related._meta.db_table)} {alias} "
                    f"ON {alias}.{quote(target)} = {parent_alias}.{quote(fk.source_field)}",
                )
            )
        return self._aliases[path], related

    def _expr(self, column: str) -> str:
        *relations, name = column.split("__")
        model, path, alias = self.model, "", "t0"
        for rel in relations:
            path = f"{path}__{rel}" if path else rel
            alias, model = self._join(path, model)
        return f"{alias}.{quote(model._meta.fields_db_projection[name])}"

    def col(self, name: str) -> str:
        """A selected column's SQL expression."""
        return self._exprs[name] if self.text else ""

    def from_joined(self, *columns: str) -> str:
        """FROM the table and the joins these columns need (for a count or a subquery)."""
        needed = {self.col(c).split(".", 1)[0] for c in columns}
        for alias, parent, _ in reversed(self._joins):  # a join's parent comes before it
            if alias in needed:
                needed.add(parent)
        return f"{self.table} {self._join_text(needed)}".rstrip()

    def _join_text(self, aliases: set[str] | None) -> str:
        return " ".join(j for a, _, j in self._joins if aliases is None or a in aliases)

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
        self, where: str, params: Params, tail: str = "", conn: BaseDBAsyncClient | None = None
    ) -> list[Row]:
        """The rows matching `where` (then ORDER BY / LIMIT in `tail`), converted."""
        conn = conn or connection()
        sql = f"{self.text} WHERE {where} {tail}".rstrip()
        rows = list(await conn.execute_query_dict(sql, params.values))
        convert = self.converters(conn.capabilities.dialect)
        if convert:
            for row in rows:
                for c, f in convert:
                    row[c] = f(row[c])
        return rows


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


@cache
def row_select(model: type[Model], columns: tuple[str, ...]) -> RowSelect:
    return RowSelect(model, columns)
