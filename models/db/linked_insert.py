"""New rows that point at each other, written in one PostgreSQL statement.

A new demand names its first timeline event (`last_event_id`) and the event names the demand:
written one by one that was an INSERT, an INSERT and an UPDATE, each a round trip. Here the
rows' ids are drawn from their tables' sequences first and every row is inserted with its links
already set, each as a data-modifying CTE of one statement. One statement is atomic on its own,
and PostgreSQL checks the foreign keys at its end, when all the rows are there. (SQLite has
no data-modifying CTEs: its callers write row by row.)"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from models.db.row_query import Params, connection, quote


@dataclass(frozen=True)
class Drawn:
    """A value the statement draws before it writes its rows, e.g. a counter's next number:
    `sql(p)` is a (data-modifying) query returning it as `v` in one row, run once as CTE
    `name`."""

    name: str
    sql: Callable[[Params], str]


@dataclass
class NewRow:
    """An unsaved model instance, written with the values tortoise would write for it;
    `links`: a field (`demand_id`) → the index of the row in the same call whose id it takes;
    `drawn`: a field → the drawn value it takes (set on the instance too)."""

    instance: Model
    links: dict[str, int] = field(default_factory=dict)
    drawn: dict[str, Drawn] = field(default_factory=dict)


def _values(p: Params, n: int, row: NewRow) -> tuple[list[str], list[str]]:
    """The row's columns and its VALUES entries: its own id drawn beforehand, its links taken
    from the rows they name, every other field as a parameter."""
    meta = row.instance._meta
    columns, values = [quote(meta.db_pk_column)], [f"(SELECT i{n} FROM ids)"]  # noqa: S608
    for name, column in meta.fields_db_projection.items():
        if name == meta.pk_attr:
            continue
        columns.append(quote(column))
        if name in row.links:
            values.append(f"(SELECT i{row.links[name]} FROM ids)")  # noqa: S608 - an index
        elif name in row.drawn:
            values.append(f"(SELECT v FROM {row.drawn[name].name})")  # noqa: S608 - a name
        else:
            value = getattr(row.instance, name)
            values.append(p(meta.fields_map[name].to_db_value(value, row.instance)))
    return columns, values


async def insert_linked(rows: Sequence[NewRow], conn: BaseDBAsyncClient | None = None) -> None:
    """Insert the rows in one statement (PostgreSQL), in the current transaction if one is
    open; each instance gets its id, its links' ids and its drawn values."""
    p = Params(True)
    drawn = {d.name: d for r in rows for d in r.drawn.values()}
    ctes = [f"{name} AS ({d.sql(p)})" for name, d in drawn.items()]
    draws = ", ".join(
        f"nextval(pg_get_serial_sequence('{r.instance._meta.db_table}', "
        f"'{r.instance._meta.db_pk_column}')) AS i{n}"
        for n, r in enumerate(rows)
    )
    writes = []
    for n, row in enumerate(rows):
        columns, values = _values(p, n, row)
        writes.append(
            f"w{n} AS (INSERT INTO {quote(row.instance._meta.db_table)} "  # noqa: S608 - names
            f"({', '.join(columns)}) VALUES ({', '.join(values)}))"
        )
    picked = ", ".join(
        [*(f"i{n}" for n in range(len(rows))), *(f"(SELECT v FROM {d}) AS {d}" for d in drawn)]  # noqa: S608
    )
    ctes.append(f"ids AS (SELECT {draws})")
    sql = f"WITH {', '.join([*ctes, *writes])} SELECT {picked} FROM ids"  # noqa: S608
    found = (await (conn or connection()).execute_query_dict(sql, p.values))[0]
    for n, row in enumerate(rows):
        row.instance.pk = int(found[f"i{n}"])
        for name, target in row.links.items():
            setattr(row.instance, name, int(found[f"i{target}"]))
        for name, d in row.drawn.items():
            setattr(row.instance, name, found[d.name])
        row.instance._saved_in_db = True
